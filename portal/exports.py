"""Spreadsheets exported from the admin read in the reader's language."""

from import_export.forms import SelectableFieldsExportForm


class NamedSheetResourceMixin:
    """The sheet is called after the model's plural name (tablib would call it "Tablib Dataset")."""

    def after_export(self, queryset, dataset, **kwargs):
        super().after_export(queryset, dataset, **kwargs)
        dataset.title = str(self._meta.model._meta.verbose_name_plural)



class NamedFieldsExportForm(SelectableFieldsExportForm):
    """The export page's field checkboxes read as the spreadsheet's column headers, not as attribute names."""

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return str(field.column_name) if field and field.column_name else super()._get_field_label(resource, field_name)
