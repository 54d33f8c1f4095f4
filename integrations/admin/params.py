"""Form fields drawn from declared parameters: adapter settings and transform parameters without JSON.

`ParamsWidget` edits one JSON object. It draws one group of inputs per choice of a neighbouring select
(a scheme's source kind, a mapping row's transform) from that choice's declared parameters — anything
with `label`, `type`, `required`, `default`, `help` and optionally `choices` and `lookup` attributes —
and keeps the JSON itself as an "advanced" view. A small script shows the group of the selected choice.
What comes back is the JSON of the visible group's inputs, or the JSON text when the person edited it.
"""

import json

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

NUMBER_TYPES = (int, float)
STRUCTURED_TYPES = (dict, list)


def dumps(value):
    return json.dumps(value, ensure_ascii=False)


def parse_object(text):
    """A dict from the JSON text, or None when it is not a JSON object."""
    if isinstance(text, dict):
        return text
    if text is None or text == "null":
        return {}
    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class ParamsWidget(forms.Widget):
    """`groups`: {choice: {name: param}}; `switch`: the select's field name, or its name's last part
    after "-" for inline rows (`mappings-3-transform` → "transform"); `lookups`: {lookup: id of the page's
    datalist offering its values} (a param with `lookup="value_map"` gets the value maps' names)."""

    def __init__(self, groups, switch, lookups=None, attrs=None):
        super().__init__(attrs)
        self.groups, self.switch, self.lookups = groups, switch, lookups or {}
        self.active = None

    # ---- reading ----------------------------------------------------------------------------

    def switch_name(self, name):
        head, dash, _tail = name.rpartition("-")
        return f"{head}-{self.switch}" if dash else self.switch

    def value_from_datadict(self, data, files, name):
        if name in data:  # a plain JSON post (API clients, older tests)
            return data[name]
        text, shown = data.get(f"{name}__json"), data.get(f"{name}__shown")
        if text is not None and text.strip() != (shown or "").strip():
            return text
        key = data.get(self.switch_name(name))
        values = {}
        for param_name, param in self.groups.get(key, {}).items():
            found, value = read_input(param, data.get(f"{name}__{key}__{param_name}"))
            if found:
                values[param_name] = value
        return dumps(values)

    def value_omitted_from_data(self, data, files, name):
        return False

    # ---- drawing ----------------------------------------------------------------------------

    def render(self, name, value, attrs=None, renderer=None):
        values = parse_object(value)
        text = value if isinstance(value, str) and value != "null" else dumps(values or {})
        groups = format_html_join("", "{}", ((self.render_group(name, key, params, values or {}),)
                                             for key, params in self.groups.items()))
        return format_html(
            '<div class="params-editor" data-switch="{}" data-active="{}">{}'
            '<details class="params-json"{}><summary>{}</summary>'
            '<textarea name="{}__json" rows="3" cols="60" class="vLargeTextField">{}</textarea>'
            '<input type="hidden" name="{}__shown" value="{}"></details></div>',
            self.switch, self.active or "", groups, mark_safe(" open") if values is None else "",
            gettext("JSON (advanced)"), name, text, name, text,
        )

    def render_group(self, name, key, params, values):
        hidden = mark_safe(" hidden") if self.active is not None and key != self.active else ""
        if not params:
            return format_html('<div class="params-group" data-key="{}"{}></div>', key, hidden)
        inputs = format_html_join("", "{}", ((self.render_param(f"{name}__{key}__{param_name}", param,
                                                                values.get(param_name, param.default)),)
                                             for param_name, param in params.items()))
        return format_html('<div class="params-group" data-key="{}"{}>{}</div>', key, hidden, inputs)

    def render_param(self, input_name, param, value):
        label = gettext(str(param.label))
        help_text = format_html(' title="{}"', gettext(str(param.help))) if param.help else ""
        if param.type is bool:
            checked = mark_safe(" checked") if value is True else ""
            return format_html('<label class="params-bool"{}><input type="checkbox" name="{}" value="1"{}> {}</label>',
                               help_text, input_name, checked, label)
        return format_html('<label class="params-field"{}><span>{}{}</span>{}</label>', help_text, label,
                           mark_safe(" *") if param.required else "", self.render_input(input_name, param, value))

    def render_input(self, input_name, param, value):
        choices = getattr(param, "choices", ()) or ()
        if choices:
            options = [("", "—")] if not param.required and param.default in (None, "") else []
            options += [(str(choice), gettext(str(label))) for choice, label in choices]
            known = {choice for choice, _label in options}
            if value not in (None, "") and str(value) not in known:
                options.append((str(value), str(value)))
            return format_html('<select name="{}">{}</select>', input_name, format_html_join(
                "", '<option value="{}"{}>{}</option>',
                ((choice, mark_safe(" selected") if str(value if value is not None else "") == choice else "", label)
                 for choice, label in options)))
        if param.type in STRUCTURED_TYPES:
            return format_html('<textarea name="{}" rows="1" cols="30">{}</textarea>', input_name,
                               dumps(value if value is not None else param.type()))
        shown = "" if value is None else value
        if isinstance(shown, str) and "\n" in shown:  # a multi-line template stays readable
            return format_html('<textarea name="{}" rows="3" cols="40">{}</textarea>', input_name, shown)
        kind = "number" if param.type in NUMBER_TYPES else "text"
        lookup = getattr(param, "lookup", "")
        if lookup and self.lookups.get(lookup):
            return format_html('<input type="text" name="{}" value="{}" list="{}">', input_name, shown,
                               self.lookups[lookup])
        step = mark_safe(' step="any"') if param.type is float else ""
        return format_html('<input type="{}" name="{}" value="{}"{}>', kind, input_name, shown, step)

    class Media:
        js = ["integrations/params.js"]


def read_input(param, raw):
    """(found, value) of one input: empty inputs and non-required defaults are left out of the JSON."""
    if param.type is bool:
        value = raw not in (None, "", "0")
    elif raw is None or str(raw).strip() == "":
        return False, None
    elif param.type in NUMBER_TYPES:
        value = number(param.type, raw.strip())
    elif param.type in STRUCTURED_TYPES:
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw  # the adapter's check names the setting
    else:
        value = raw.strip()
    if value == param.default and not param.required:
        return False, None
    return True, value


def number(kind, text):
    try:
        value = float(text)
    except ValueError:
        return text  # the check names the parameter
    return int(value) if kind is int and value.is_integer() else value
