"""Spreadsheets exported from the admin read in the reader's language."""


class NamedSheetResourceMixin:
    """The sheet is called after the model's plural name (tablib would call it "Tablib Dataset")."""

    def after_export(self, queryset, dataset, **kwargs):
        super().after_export(queryset, dataset, **kwargs)
        dataset.title = str(self._meta.model._meta.verbose_name_plural)

