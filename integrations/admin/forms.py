"""Forms behind the admin's intermediate pages: backfill, mark handled, preview, new scheme from a template."""

import json

from django import forms
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from integrations import mapping, market
from integrations.models import Connection


class CompactJSONWidget(forms.Textarea):
    """Parameters stay on one line in the mapping table; readable JSON with Chinese as is."""

    def __init__(self, attrs=None):
        super().__init__({"rows": 1, "cols": 36, "class": "vLargeTextField mapping-params", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return json.dumps(value or {}, ensure_ascii=False)


class MappingFormSet(BaseInlineFormSet):
    """Checks across rows: one source table per entry, each target once."""

    def clean(self):
        super().clean()
        rows = [
            form.instance.as_row()
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.instance.target
        ]
        problems = mapping.check_rows(rows)
        if problems:
            raise forms.ValidationError([problem.render(gettext) for problem in problems])


class BackfillForm(forms.Form):
    since = forms.DateField(label=_("from (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("to (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until:
            if since > until:
                raise forms.ValidationError(_("The start date is after the end date."))
            if until > timezone.localdate():
                raise forms.ValidationError(_("The range cannot end in the future."))
        return data

    def window(self):
        """Aware datetimes covering both dates in the portal's time zone."""
        zone = timezone.get_current_timezone()
        since = timezone.make_aware(timezone.datetime.combine(self.cleaned_data["since"], timezone.datetime.min.time()),
                                    zone)
        until = timezone.make_aware(timezone.datetime.combine(self.cleaned_data["until"], timezone.datetime.max.time()),
                                    zone)
        return since, min(until, timezone.now())


class HandleForm(forms.Form):
    note = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Why no bill is needed, or where it was booked by hand."))


class PreviewForm(forms.Form):
    key = forms.CharField(label=_("source key"), required=False, max_length=128,
                          help_text=_("A DingTalk approval instance id; empty: the latest record."))


class FromTemplateForm(forms.Form):
    template = forms.ChoiceField(label=_("template"))
    name = forms.CharField(label=_("scheme name"), max_length=100)
    source_connection = forms.ModelChoiceField(
        Connection.objects.filter(kind=Connection.Kind.DINGTALK), label=_("DingTalk connection"))
    target_connection = forms.ModelChoiceField(
        Connection.objects.filter(kind=Connection.Kind.KINGDEE), label=_("Kingdee connection"))
    process_code = forms.CharField(label=_("approval template (process code)"), max_length=100, required=False,
                                   help_text=_("Empty: the template's own (the sandbox's 费用报销)."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        templates = market.available()
        self.fields["template"].choices = [(slug, template["name"]) for slug, template in templates.items()]
        if not self.is_bound and templates:
            self.initial.setdefault("name", next(iter(templates.values()))["name"])
