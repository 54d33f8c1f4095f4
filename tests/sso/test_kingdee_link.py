"""The signed Kingdee link against kingdee-webapi.md §8.7 and an independent computation."""

import base64
import hashlib
import json
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from sso.kingdee_link import DeepLink, encode_ud, login_url, signed_login_url, ud_payload

DBID = "62f3c9b0aa1b2c"
APP_ID = "230001_K3simAppSecretTestVector00000001"
SECRET = "0123456789abcdef0123456789abcdef"
VECTOR = dict(dbid=DBID, app_id=APP_ID, app_secret=SECRET, timestamp=1700000000)

UD_DEMO = (
    "eyJkYmlkIjoiNjJmM2M5YjBhYTFiMmMiLCJ1c2VybmFtZSI6ImRlbW8iLCJhcHBpZCI6IjIzMDAwMV9LM3NpbUFwcFNlY3JldFRlc3RWZWN0b3Iw"
    "MDAwMDAwMSIsInNpZ25lZGRhdGEiOiJiZmNkY2Q1YzM0M2RlNDE3MGNiY2MzMzMwYzU4ODFkMDQ5MThmYzJiZmVhZWE2N2Q5NzdhYmEyMWFhNTNi"
    "NzA1IiwidGltZXN0YW1wIjoiMTcwMDAwMDAwMCIsImxjaWQiOiIyMDUyIiwib3JpZ2ludHlwZSI6IlNpbVBhcyIsImVudHJ5cm9sZSI6IiIsImZv"
    "cm1pZCI6IiIsImZvcm10eXBlIjoiIiwicGtpZCI6IiIsIm90aGVyYXJncyI6IiIsIm9wZW5tb2RlIjpudWxsfQ=="
)
UD_ZHANGSAN = (
    "eyJkYmlkIjoiNjJmM2M5YjBhYTFiMmMiLCJ1c2VybmFtZSI6IuW8oOS4iSIsImFwcGlkIjoiMjMwMDAxX0szc2ltQXBwU2VjcmV0VGVzdFZlY3Rv"
    "cjAwMDAwMDAxIiwic2lnbmVkZGF0YSI6ImRiNTBjYjE3MTM4MzYyODZlOTMwOWI2MTE0MWJkNDJjODg2NTViODk2ZTFhYTdkNmZlYmQ1ZGQwZTA4"
    "MWY0Y2EiLCJ0aW1lc3RhbXAiOiIxNzAwMDAwMDAwIiwibGNpZCI6IjIwNTIiLCJvcmlnaW50eXBlIjoiU2ltUGFzIiwiZW50cnlyb2xlIjoiIiwi"
    "Zm9ybWlkIjoiIiwiZm9ybXR5cGUiOiIiLCJwa2lkIjoiIiwib3RoZXJhcmdzIjoiIiwib3Blbm1vZGUiOm51bGx9"
)


def decode(url):
    ud = parse_qs(urlsplit(url).query)["ud"][0]
    return json.loads(base64.b64decode(ud).decode("utf-8"))


@pytest.mark.parametrize(
    "username, algorithm, signature",
    [
        ("demo", "sha1", "ce43cf173d4d3ba341581a9b53c63abb6f130c07"),
        ("demo", "sha256", "bfcdcd5c343de4170cbcc3330c5881d04918fc2bfeaea67d977aba21aa53b705"),
        ("张三", "sha1", "b3197346f889671cd6373c8f2ea155a04a1dec80"),
        ("张三", "sha256", "db50cb1713836286e9309b61141bd42c88655b896e1aa7d6febd5dd0e081f4ca"),
    ],
)
def test_signature_matches_the_published_vectors(username, algorithm, signature):
    assert ud_payload(username=username, algorithm=algorithm, **VECTOR)["signeddata"] == signature


def test_ud_for_demo_is_byte_for_byte_the_published_one():
    assert encode_ud(ud_payload(username="demo", **VECTOR)) == UD_DEMO


def test_ud_for_a_chinese_user_name_carries_raw_utf8():
    assert encode_ud(ud_payload(username="张三", **VECTOR)) == UD_ZHANGSAN


def test_permitcount_goes_into_otherargs_and_the_signature_keeps_kingdees_five_parts():
    payload = ud_payload(username="demo", single_use=True, **VECTOR)
    assert payload["otherargs"] == "|{'permitcount':'1'}"
    assert payload["signeddata"] == "bfcdcd5c343de4170cbcc3330c5881d04918fc2bfeaea67d977aba21aa53b705"
    assert ud_payload(username="demo", single_use=False, **VECTOR)["otherargs"] == "|{'permitcount':'0'}"


def test_fixed_input_vector_computed_independently_of_the_shared_crypto():
    # Sorted by hand (code points 0x31 < 0x39 < 0x4B < 0x73 < 0x738B), hashed outside Python:
    #   printf '%s' '1767225600998877_abc+/defK3 测试中心s3cr3t-密钥王小明' | sha256sum
    expected = "df1de868f8dcc7192813fb33c1ee5c00bec2a5dcbad595e665fe26364f146167"
    assert hashlib.sha256("1767225600998877_abc+/defK3 测试中心s3cr3t-密钥王小明".encode()).hexdigest() == expected
    payload = ud_payload(dbid="K3 测试中心", username="王小明", app_id="998877_abc+/def", app_secret="s3cr3t-密钥",
                         timestamp=1767225600, single_use=False)
    assert payload["signeddata"] == expected


def test_url_percent_encodes_the_base64_so_plus_and_slash_survive():
    url = login_url("http://k3.example.com/k3cloud/", UD_DEMO)
    assert url.startswith("http://k3.example.com/k3cloud/html5/index.aspx?ud=")
    assert url.endswith("udWxsfQ%3D%3D")  # §8.7's prose says bnVsbH0, but its own ud ends udWxsfQ==
    assert unquote(url.split("ud=", 1)[1]) == UD_DEMO
    assert login_url("http://k3/k3cloud/", "ab+/cd==").endswith("?ud=ab%2B%2Fcd%3D%3D")


def test_base_url_without_trailing_slash_still_lands_on_html5_index():
    assert login_url("http://k3/k3cloud", "x").startswith("http://k3/k3cloud/html5/index.aspx?ud=")


def test_signed_login_url_uses_a_fresh_timestamp_and_decodes_to_the_payload():
    url = signed_login_url("http://k3/k3cloud/", now=1800000000.7, dbid=DBID, username="李四", app_id=APP_ID,
                           app_secret=SECRET, single_use=True)
    args = decode(url)
    assert args["timestamp"] == "1800000000" and args["username"] == "李四"
    assert args["lcid"] == "2052" and args["origintype"] == "SimPas" and args["openmode"] is None


def test_deep_link_fills_form_fields():
    args = ud_payload(username="demo", deep_link=DeepLink("AP_PAYBILL", "list"), **VECTOR)
    assert (args["formid"], args["formtype"], args["pkid"]) == ("AP_PAYBILL", "list", "")


@pytest.mark.parametrize("form_id", ["http://evil.example/", "AP PAYBILL", "", "../x"])
def test_deep_link_refuses_anything_but_a_form_id(form_id):
    with pytest.raises(ValueError):
        DeepLink(form_id)


def test_unknown_algorithm_and_missing_secret_are_refused():
    with pytest.raises(ValueError):
        ud_payload(username="demo", algorithm="md5", **VECTOR)
    with pytest.raises(ValueError):
        ud_payload(username="demo", **{**VECTOR, "app_secret": ""})
