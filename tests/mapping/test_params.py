"""Settings and transform parameters as form fields drawn from their declared Params, JSON as the advanced view."""

import json

from django.urls import reverse

from integrations.adapters.base import Param
from integrations.admin.params import ParamsWidget
from integrations.models import FieldMapping
from tests.integrations.test_admin import page_form


class Other:
    """An adapter of another engineer's kind: only its declared Params are known."""

    settings_schema = {
        "sheet": Param("sheet", required=True),
        "rows": Param("rows", int, default=100),
        "dry_run": Param("dry run", bool, default=False),
        "headers": Param("headers", dict, default={}),
    }


def widget():
    return ParamsWidget({"other.kind": Other.settings_schema, "none": {}}, "target_kind")


def test_any_adapter_gets_fields_from_its_declared_params_alone():
    html = widget().render("target_params", json.dumps({"sheet": "S1", "rows": 5}))
    assert 'name="target_params__other.kind__sheet" value="S1"' in html
    assert 'type="number" name="target_params__other.kind__rows" value="5"' in html
    assert 'type="checkbox" name="target_params__other.kind__dry_run"' in html
    assert 'name="target_params__other.kind__headers"' in html and "target_params__json" in html


def test_the_fields_of_the_chosen_kind_become_the_settings_json():
    data = {"target_kind": "other.kind", "target_params__other.kind__sheet": " S2 ",
            "target_params__other.kind__rows": "7", "target_params__other.kind__dry_run": "1",
            "target_params__other.kind__headers": '{"a": 1}', "target_params__none__sheet": "ignored"}
    assert json.loads(widget().value_from_datadict(data, {}, "target_params")) == {
        "sheet": "S2", "rows": 7, "dry_run": True, "headers": {"a": 1}}


def test_defaults_and_empty_inputs_stay_out_of_the_json():
    data = {"target_kind": "other.kind", "target_params__other.kind__sheet": "S", "target_params__other.kind__rows": "100"}
    assert json.loads(widget().value_from_datadict(data, {}, "target_params")) == {"sheet": "S"}


def test_edited_json_wins_over_the_fields():
    data = {"target_kind": "other.kind", "target_params__other.kind__sheet": "S",
            "target_params__json": '{"sheet": "from json"}', "target_params__shown": '{"sheet": "S"}'}
    assert widget().value_from_datadict(data, {}, "target_params") == '{"sheet": "from json"}'


def browser_post(response, row_target, **changes):
    """The change form as the browser posts it: parameters as their fields, not as JSON."""
    data = page_form(response)
    form = next(form for inline in response.context["inline_admin_formsets"] for form in inline.formset.forms
                if form.instance.target == row_target)
    prefix = form.prefix
    del data[f"{prefix}-params"]
    for name in ("source_params", "target_params"):
        data.pop(name)
        scheme = response.context["original"]
        kind = getattr(scheme, name.replace("params", "kind"))
        for key, value in getattr(scheme, name).items():
            data[f"{name}__{kind}__{key}"] = "1" if value is True else value
    for key, value in changes.items():
        data[key.replace("ROW", prefix)] = value
    return data


def test_a_mapping_rows_parameters_are_saved_from_their_fields(admin_client, scheme):
    url = reverse("admin:integrations_scheme_change", args=[scheme.pk])
    page = admin_client.get(url)
    assert 'name="mappings-0-params__number__scale"' in page.content.decode()
    data = browser_post(page, "FDATE", **{"ROW-transform": "date", "ROW-params__date__format": "yyyy-MM-dd HH:mm:ss",
                                          "ROW-params__date__timezone": "Asia/Shanghai"})
    answer = admin_client.post(url, data)
    assert answer.status_code == 302, answer.context["errors"] if answer.context else answer
    assert FieldMapping.objects.get(scheme=scheme, target="FDATE").params == {
        "format": "yyyy-MM-dd HH:mm:ss", "timezone": "Asia/Shanghai"}


def test_a_bad_parameter_in_its_field_is_refused_in_chinese(admin_client, scheme):
    url = reverse("admin:integrations_scheme_change", args=[scheme.pk])
    data = browser_post(admin_client.get(url), "FDATE", **{"ROW-transform": "number", "ROW-params__number__scale": "two"})
    page = admin_client.post(url, data)
    assert page.status_code == 200 and "“scale”必须是 0 到 10 之间的整数" in page.content.decode()
    assert FieldMapping.objects.get(scheme=scheme, target="FDATE").transform == "date"


def test_declared_choices_make_a_select_and_are_checked():
    from integrations.adapters.base import Adapter

    class Robot(Adapter):
        settings_schema = {"msgtype": Param("message type", default="markdown",
                                            choices=(("markdown", "Markdown"), ("action_card", "card"))),
                           "page_size": Param("rows per page", int, default=2000)}

    html = ParamsWidget({"robot": Robot.settings_schema}, "target_kind").render("target_params", "{}")
    assert '<select name="target_params__robot__msgtype"><option value="markdown" selected>' in html
    assert Robot.check({"msgtype": "markdown", "page_size": 10}) == []
    assert len(Robot.check({"msgtype": "html", "page_size": "ten"})) == 2


def test_the_value_map_parameter_picks_from_the_schemes_value_maps(admin_client, scheme):
    page = admin_client.get(reverse("admin:integrations_scheme_change", args=[scheme.pk])).content.decode()
    assert 'name="mappings-0-params__value_map__map" value="" list="mapping-value-maps"' in page
    assert '<datalist id="mapping-value-maps"><option value="费用明细→金蝶费用项目">' in page
