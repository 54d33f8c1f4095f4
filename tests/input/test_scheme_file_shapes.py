"""A scheme file of any shape is refused with the place named, never a 500, and nothing is written."""

import copy
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations import scheme_file
from integrations.models import FieldMapping, Scheme, SchemeVersion, ValueMapEntry
from tests.integrations.conftest import dingtalk_connection  # noqa: F401  (fixtures)
from tests.ops.conftest import committed, scheme  # noqa: F401  (it_client and it_user are in tests/conftest.py)
from tests.ops.test_scheme_file import tuned  # noqa: F401


def first_map(data):
    return data["value_maps"][0]




MUTATIONS = [
    ("name is a list", lambda d: d["settings"].update(name=["a"]), "settings.name"),
    ("name is an object", lambda d: d["settings"].update(name={"a": 1}), "settings.name"),
    ("batch size is text", lambda d: d["settings"].update(batch_size="abc"), "settings.batch_size"),
    ("batch size is true", lambda d: d["settings"].update(batch_size=True), "settings.batch_size"),
    ("enabled is text", lambda d: d["settings"].update(enabled="yes"), "settings.enabled"),
    ("source settings are a list", lambda d: d["settings"].update(source_params=[1]), "settings.source_params"),
    ("source connection is a number", lambda d: d["settings"].update(source_connection=5),
     "settings.source_connection"),
    ("rows are text", lambda d: d.update(mappings=["FREMARK"]), "mappings[1]"),
    ("a row has no target", lambda d: d["mappings"][0].pop("target"), "mappings[1].target"),
    ("a row's target is a number", lambda d: d["mappings"][0].update(target=7), "mappings[1].target"),
    ("a row's parameters are a list", lambda d: d["mappings"][0].update(params=["x"]), "mappings[1].params"),
    ("a row's order is true", lambda d: d["mappings"][0].update(position=True), "mappings[1].position"),
    ("value maps hold a number", lambda d: d.update(value_maps=[3]), "value_maps[1]"),
    ("a value map has no name", lambda d: first_map(d).pop("name"), "value_maps[1].name"),
    ("entries are an object", lambda d: first_map(d).update(entries={"a": "b"}), "value_maps[1].entries"),
    ("an entry is text", lambda d: first_map(d).update(entries=["a"]), "value_maps[1].entries[1]"),
    ("an entry's source is a number", lambda d: first_map(d).update(entries=[{"source": 1, "target": "x"}]),
     "value_maps[1].entries[1].source_value"),
    ("connections are a list", lambda d: d.update(connections=["钉钉"]), "connections"),
    ("a connection's name is an object", lambda d: d["connections"]["source_connection"].update(name={}),
     "connections"),
]


def broken_text(tuned, mutate):
    data = copy.deepcopy(scheme_file.export(tuned))
    mutate(data)
    return json.dumps(data, ensure_ascii=False)


def written():
    return (Scheme.objects.count(), FieldMapping.objects.count(), ValueMapEntry.objects.count(),
            SchemeVersion.objects.count())


@pytest.mark.parametrize(("shape", "mutate", "where"), MUTATIONS, ids=[row[0] for row in MUTATIONS])
def test_a_malformed_scheme_file_is_refused_naming_the_place(it_client, tuned, shape, mutate, where):
    text = broken_text(tuned, mutate)
    before = written()

    with pytest.raises(ValidationError) as refused:
        scheme_file.parse(text)
    upload = SimpleUploadedFile("scheme.json", text.encode(), content_type="application/json")
    response = it_client.post(reverse("admin:integrations_scheme_import"), {"file": upload})

    assert where in " ".join(refused.value.messages)
    assert response.status_code == 200
    assert "该文件无法导入" in response.content.decode()
    assert written() == before


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"format": ' * 50_000 + "1" + "}" * 50_000])
def test_a_deeply_nested_scheme_file_is_refused(it_client, db, text):
    upload = SimpleUploadedFile("scheme.json", text.encode(), content_type="application/json")

    response = it_client.post(reverse("admin:integrations_scheme_import"), {"file": upload})

    assert response.status_code == 200
    assert "文件不是有效的 JSON" in response.content.decode()
