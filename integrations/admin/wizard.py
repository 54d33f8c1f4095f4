"""The new-scheme wizard (seed 001's three steps): source, target, mapping — then the preview of a real record.

Each step's answers wait in the session until the last step creates the scheme in one transaction. A
template fills the steps with its own choices and rows; a blank scheme gets rows suggested by matching
the approval template's captions with the Kingdee form's (`engine.catalog.suggest`).
"""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy as _

from integrations import adapters, mapping, market
from integrations.admin.params import ParamsWidget
from integrations.engine import catalog
from integrations.models import Connection, FieldMapping, Scheme

SESSION_KEY = "integrations:scheme-wizard"
STEPS = (("source", _("Source")), ("target", _("Target")), ("mapping", _("Mapping")))
BLANK_ROWS = 3


class SideForm(forms.Form):
    """One side of a scheme: connection, kind, and the kind's settings drawn from its declared Params."""

    side = ""
    leading = ()  # declared fields shown before the side's own

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        registry = adapters.SOURCES if self.side == "source" else adapters.TARGETS
        widget = ParamsWidget({kind: cls.settings_schema for kind, cls in registry.items()}, f"{self.side}_kind")
        widget.active = self.data.get(f"{self.side}_kind") if self.is_bound else self.initial.get(f"{self.side}_kind")
        own = {
            f"{self.side}_connection": forms.ModelChoiceField(
                Connection.objects.filter(enabled=True, kind__in={cls.connection_kind for cls in registry.values()}),
                label=Scheme._meta.get_field(f"{self.side}_connection").verbose_name),
            f"{self.side}_kind": forms.ChoiceField(label=_("kind"), choices=[
                (kind, cls.label) for kind, cls in registry.items()]),
            f"{self.side}_params": forms.JSONField(label=_("settings"), required=False, widget=widget),
        }
        first = {name: field for name, field in self.fields.items() if name in self.leading}
        rest = {name: field for name, field in self.fields.items() if name not in self.leading}
        self.fields = {**first, **own, **rest}

    def clean(self):
        data = super().clean()
        kind, connection = data.get(f"{self.side}_kind"), data.get(f"{self.side}_connection")
        if kind:
            params = data.get(f"{self.side}_params") or {}
            for name, message in adapters.check_settings(self.side, kind, params, connection).items():
                self.add_error(name if name in self.fields else None, message)
        return data

    def answers(self):
        data = self.cleaned_data
        return {name: (value.pk if isinstance(value, Connection) else value) for name, value in data.items()}


class SourceForm(SideForm):
    side = "source"
    leading = ("template", "name")
    template = forms.ChoiceField(label=_("start from"), required=False)
    name = forms.CharField(label=_("scheme name"), max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", gettext("a blank scheme"))] + [
            (slug, template["name"]) for slug, template in market.available().items()]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Scheme.objects.filter(name=name).exists():
            raise ValidationError(gettext("A scheme with this name exists already."))
        return name


class TargetForm(SideForm):
    side = "target"
    dedupe_field = forms.CharField(label=_("dedupe field in the target"), max_length=100, required=False,
                                   help_text=Scheme._meta.get_field("dedupe_field").help_text)


class RowForm(forms.Form):
    use = forms.BooleanField(label=_("use"), required=False)
    target = forms.CharField(label=_("target field"), max_length=200, required=False,
                             widget=forms.TextInput(attrs={"list": "mapping-target-fields", "size": 22}))
    source = forms.CharField(label=_("source path"), max_length=200, required=False,
                             widget=forms.TextInput(attrs={"list": "mapping-source-fields", "size": 22}))
    transform = forms.ChoiceField(label=_("transform"),
                                  choices=[(name, _(label)) for name, label in mapping.transform_choices()])
    params = forms.CharField(required=False, widget=forms.HiddenInput)
    required = forms.BooleanField(label=_("required"), required=False)
    default = forms.CharField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_params(self):
        try:
            params = json.loads(self.cleaned_data["params"] or "{}")
        except ValueError:
            params = None
        if not isinstance(params, dict):
            raise ValidationError(gettext("Parameters must be a JSON object."))
        return params

    def row(self):
        data = self.cleaned_data
        return mapping.Row(data["target"].strip(), data["source"].strip(), data["transform"], data["params"],
                           data["required"], data["default"])


class BaseRowFormSet(forms.BaseFormSet):
    target_catalog, form_id = None, ""

    def clean(self):
        if any(self.errors):
            return
        chosen = [(form, form.row()) for form in self.forms
                  if form.cleaned_data.get("use") and form.cleaned_data.get("target")]
        if not chosen:
            raise ValidationError(gettext("Choose at least one mapping row."))
        for form, row in chosen:
            for name, problem in mapping.check_row(row):
                form.add_error(name if name in ("target", "source", "transform") else None, problem.render(gettext))
            if self.target_catalog and self.target_catalog.described and not self.target_catalog.has_target(row.target):
                form.add_error("target", gettext("The Kingdee form %(form)s has no field %(field)s.") % {
                    "form": self.form_id, "field": row.target})
        problems = mapping.check_rows([row for _form, row in chosen])
        if problems:
            raise ValidationError([problem.render(gettext) for problem in problems])

    def chosen(self):
        return [form.cleaned_data for form in self.forms
                if form.cleaned_data.get("use") and form.cleaned_data.get("target")]


RowFormSet = forms.formset_factory(RowForm, formset=BaseRowFormSet, extra=0)


class SchemeWizardMixin:
    """`SchemeAdmin`'s wizard pages: /new/source/, /new/target/, /new/mapping/."""

    def wizard_view(self, request, step="source"):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if step not in dict(STEPS):
            raise Http404
        answers = request.session.get(SESSION_KEY, {}) if step != "source" or request.method == "POST" else {}
        if step != "source" and "source_kind" not in answers or step == "mapping" and "target_kind" not in answers:
            return HttpResponseRedirect(reverse("admin:integrations_scheme_wizard", args=["source"]))
        if step == "mapping":
            return self.wizard_mapping(request, answers)
        form_class = SourceForm if step == "source" else TargetForm
        form = form_class(request.POST or None, initial=self.wizard_initial(request, step, answers))
        if request.method == "POST" and form.is_valid():
            request.session[SESSION_KEY] = {**answers, **form.answers()}
            following = "target" if step == "source" else "mapping"
            return HttpResponseRedirect(reverse("admin:integrations_scheme_wizard", args=[following]))
        return self.wizard_page(request, step, {"form": form, "templates": market.available().values()})

    def wizard_initial(self, request, step, answers):
        slug = request.GET.get("template") if step == "source" else answers.get("template")
        template = market.available().get(slug or "")
        if step == "source":
            initial = {"template": slug or "", "source_kind": "dingtalk.approval"}
            if template:
                initial.update(name=template["name"], source_kind=template["source"]["kind"],
                               source_params=template["source"]["params"])
            return initial
        initial = {"target_kind": "kingdee.save", "dedupe_field": "FTHIRDBILLNO"}
        if template:
            initial.update(target_kind=template["target"]["kind"], target_params=template["target"]["params"],
                           dedupe_field=template.get("dedupe_field", ""))
        return {**initial, **{k: v for k, v in answers.items() if k.startswith("target_") or k == "dedupe_field"}}

    def wizard_mapping(self, request, answers):
        scheme = unsaved_scheme(answers)
        source, target = catalog.of_scheme(scheme)
        formset = RowFormSet(request.POST or None, initial=suggested_rows(answers, source, target), prefix="rows")
        formset.target_catalog, formset.form_id = target, (scheme.target_params or {}).get("form_id", "")
        if request.method == "POST" and formset.is_valid():
            try:
                scheme = create_scheme(answers, formset.chosen())
            except ValidationError as error:
                formset._non_form_errors = formset.error_class(error.messages)
            else:
                request.session.pop(SESSION_KEY, None)
                self.log_addition(request, scheme, gettext("Created with the new-scheme wizard."))
                self.message_user(request, gettext(
                    "Created “%(name)s” with %(rows)d mapping rows. Below: a real record through its mapping; "
                    "nothing has been written.") % {"name": scheme.name, "rows": scheme.mappings.count()},
                    messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:integrations_scheme_preview", args=[scheme.pk]) + "?key=")
        rows = [(form, source.caption(form["source"].value() or ""), target.caption(form["target"].value() or ""))
                for form in formset.forms]
        return self.wizard_page(request, "mapping", {
            "formset": formset, "rows": rows, "source_catalog": source, "target_catalog": target,
            "picker_notes": [side.note for side in (source, target) if side.note], "answers": answers,
        })

    def wizard_page(self, request, step, context):
        titles = dict(STEPS)
        context = {
            **self.admin_site.each_context(request), **context, "opts": self.opts, "step": step, "steps": STEPS,
            "title": gettext("New scheme, step %(number)d of 3: %(step)s") % {
                "number": [name for name, _label in STEPS].index(step) + 1, "step": titles[step]},
        }
        return TemplateResponse(request, "admin/integrations/scheme/wizard.html", context)


def unsaved_scheme(answers):
    connections = Connection.objects.in_bulk([answers.get("source_connection"), answers.get("target_connection")])
    return Scheme(
        name=answers.get("name", ""), source_kind=answers["source_kind"], source_params=answers.get("source_params"),
        source_connection=connections.get(answers.get("source_connection")), target_kind=answers["target_kind"],
        target_connection=connections.get(answers.get("target_connection")),
        target_params=answers.get("target_params"), dedupe_field=answers.get("dedupe_field") or "",
    )


def suggested_rows(answers, source, target):
    """The template's rows, else rows whose captions match; then a few empty rows to add by hand."""
    template = market.available().get(answers.get("template") or "")
    if template:
        rows = [{**spec, "use": True, "params": json.dumps(spec.get("params") or {}, ensure_ascii=False)}
                for spec in template["mappings"]]
    else:
        rows = [{"use": True, "target": target_path, "source": source_path, "transform": transform}
                for target_path, source_path, transform in catalog.suggest(source, target)]
    return rows + [{"use": False, "transform": "copy"} for _blank in range(BLANK_ROWS)]


@transaction.atomic
def create_scheme(answers, rows):
    """The scheme of the wizard's answers with the chosen rows; a template also brings its value maps."""
    draft = unsaved_scheme(answers)
    settings = {name: getattr(draft, name) for name in (
        "source_kind", "source_params", "target_kind", "target_params", "dedupe_field")}
    if answers.get("template"):
        scheme = market.create_scheme(answers["template"], source_connection=draft.source_connection,
                                      target_connection=draft.target_connection, name=draft.name, **settings)
        scheme.mappings.all().delete()
    else:
        scheme = Scheme(name=draft.name, source_connection=draft.source_connection,
                        target_connection=draft.target_connection, schedule_kind=Scheme.ScheduleKind.MANUAL,
                        **settings)
        scheme.full_clean()
        scheme.save()
    for position, row in enumerate(rows, start=1):
        mapping_row = FieldMapping(scheme=scheme, position=position * 10, target=row["target"].strip(),
                                   source=row["source"].strip(), transform=row["transform"], params=row["params"],
                                   required=row["required"], default=row["default"], note=row["note"])
        mapping_row.full_clean()
        mapping_row.save()
    return scheme
