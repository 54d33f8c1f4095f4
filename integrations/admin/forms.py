"""Forms behind the admin's intermediate pages: backfill, mark handled, preview, new scheme from a template."""

from django import forms
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from integrations import adapters, mapping, market
from integrations.admin.params import ParamsWidget
from integrations.engine import catalog
from integrations.models import Connection, FieldMapping, Scheme


def active_choice(form, field_name):
    """The select's value this form shows: what was posted, else the instance's or the initial one."""
    if form.is_bound:
        return form.data.get(form.add_prefix(field_name))
    return form.initial.get(field_name) or getattr(form.instance, field_name, None)


class SchemeForm(forms.ModelForm):
    """Source and target settings as form fields drawn from each adapter's declared settings."""

    class Meta:
        model = Scheme
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for side, registry in (("source", adapters.SOURCES), ("target", adapters.TARGETS)):
            name = f"{side}_params"
            if name in self.fields:
                groups = {kind: cls.settings_schema for kind, cls in registry.items()}
                self.fields[name].widget = ParamsWidget(groups, f"{side}_kind")
                self.fields[name].widget.active = active_choice(self, f"{side}_kind")


class MappingForm(forms.ModelForm):
    """One mapping row; its parameters as fields of the chosen transform."""

    class Meta:
        model = FieldMapping
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "params" in self.fields:
            groups = {name: transform.all_params for name, transform in mapping.TRANSFORMS.items()}
            # The value-map picker: a datalist of the scheme's value maps, drawn by the change form.
            widget = ParamsWidget(groups, "transform", lookups={"value_map": "mapping-value-maps"})
            widget.active = active_choice(self, "transform") or "copy"
            self.fields["params"].widget = widget


class MappingFormSet(BaseInlineFormSet):
    """Checks across rows (one source table per entry, no target twice or inside another) and against the
    target form's fields as Kingdee describes them (when it could be read)."""

    def clean(self):
        super().clean()
        forms_kept = [form for form in self.forms
                      if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.instance.target]
        _source, target = catalog.of_scheme(self.instance)
        if target.described:
            form_id = (self.instance.target_params or {}).get("form_id", "")
            for form in forms_kept:
                if not target.has_target(form.instance.target):
                    form.add_error("target", gettext("The Kingdee form %(form)s has no field %(field)s.") % {
                        "form": form_id, "field": form.instance.target})
        problems = mapping.check_rows([form.instance.as_row() for form in forms_kept])
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


# What a source key is, per source kind: the preview asks for one, the template chooser for the source's id.
KEY_HELP = {
    "dingtalk.approval": _("A DingTalk approval instance id; empty: the latest record."),
    "dingtalk.yida": _("A Yida form instance id (FINST-…), on an approval form its process instance id; empty: the "
                       "latest record."),
    "dingtalk.attendance": _("An employee and a month, userid@YYYY-MM (e.g. manager4220@2026-05); empty: the latest "
                             "record."),
}
OTHER_KEY_HELP = _("The record's key in the source; empty: the latest record.")


class PreviewForm(forms.Form):
    key = forms.CharField(label=_("source key"), required=False, max_length=128)

    def __init__(self, *args, source_kind="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].help_text = KEY_HELP.get(source_kind, OTHER_KEY_HELP)


class FromTemplateForm(forms.Form):
    template = forms.ChoiceField(label=_("template"))
    name = forms.CharField(label=_("scheme name"), max_length=100)
    source_connection = forms.ModelChoiceField(
        Connection.objects.filter(kind=Connection.Kind.DINGTALK), label=_("DingTalk connection"))
    target_connection = forms.ModelChoiceField(
        Connection.objects.filter(kind=Connection.Kind.KINGDEE), label=_("Kingdee connection"))
    process_code = forms.CharField(label=_("approval template (process code)"), max_length=100, required=False,
                                   help_text=_("Empty: the template's own (the sandbox's 费用报销)."))
    form_uuid = forms.CharField(label=_("Yida form (formUuid)"), max_length=100, required=False,
                                help_text=_("FORM-…, from the form's address in Yida. Empty: the template's own "
                                            "(the sandbox's form)."))
    # Which source kind each field belongs to: the page shows only the chosen template's (nothing for attendance).
    SOURCE_FIELDS = {"process_code": "dingtalk.approval", "form_uuid": "dingtalk.yida"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        templates = market.available()
        self.source_kinds = {slug: template["source"]["kind"] for slug, template in templates.items()}
        self.fields["template"].choices = [(slug, template["name"]) for slug, template in templates.items()]
        if not self.is_bound and templates:
            self.initial.setdefault("name", next(iter(templates.values()))["name"])

    def clean_form_uuid(self):
        value = self.cleaned_data["form_uuid"].strip()
        if value and not value.startswith("FORM-"):
            raise forms.ValidationError(_("A Yida form id starts with FORM-."))
        return value

    def source_overrides(self):
        """The chosen template's source settings with what was typed for its kind (others are ignored)."""
        data = self.cleaned_data
        kind = self.source_kinds.get(data["template"], "")
        if kind == "dingtalk.approval" and data.get("process_code"):
            return {"process_code": data["process_code"]}
        if kind == "dingtalk.yida" and data.get("form_uuid"):
            return {"source_params": {**market.get(data["template"])["source"]["params"],
                                      "form_uuid": data["form_uuid"]}}
        return {}

    def source_rows(self):
        """(bound field, source kind) for the page, which shows each only for its kind's templates."""
        return [(self[name], kind) for name, kind in self.SOURCE_FIELDS.items()]

    def common_fields(self):
        return [self[name] for name in self.fields if name not in self.SOURCE_FIELDS]
