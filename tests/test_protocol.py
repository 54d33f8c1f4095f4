"""The wire cryptography against the published vectors (references: DingTalk §4.3, §6.2; Kingdee §4.8, §8.7)."""

import json

import pytest

from integrations import protocol

VECTOR_A = {
    "token": "123456",
    "aes_key": "1234567890123456789012345678901234567890123",
    "receiver": "dingsnotzck6pm5veliw",
    "timestamp": "1614767836",
    "nonce": "A7Co0cJLMzIDtMMI",
    "encrypt": "YvkvaGe4hQxd3VxRmEty0dVlnCOAqwf56xwTRHDHoOURqhalbmBJQk5FNcRk42Gl5T0YQXZNwpwWSm1xAFJ5ZA==",
    "signature": "9a95a004dd16f5c307e849b994173f76aa26e5eb",
    "plaintext": "success",
}
VECTOR_B = {
    "token": "mryue",
    "aes_key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
    "receiver": "ding6ccabc44d2c8d38b",
    "timestamp": "1608001896814",
    "nonce": "WL4PK6yA",
    "encrypt": "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3",
    "signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb",
    "plaintext": '{"EventType":"check_url"}',
}


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["A", "B"])
def test_official_callback_vectors_verify_and_decrypt(vector):
    v = vector
    assert protocol.callback_signature(v["token"], v["timestamp"], v["nonce"], v["encrypt"]) == v["signature"]
    assert protocol.callback_decrypt(v["aes_key"], v["receiver"], v["encrypt"]) == v["plaintext"]


def test_encrypt_path_reproduces_vector_c():
    encrypt = protocol.callback_encrypt(VECTOR_A["aes_key"], VECTOR_A["receiver"], "success", "0123456789abcdef")
    assert encrypt == "GCr6999U/V4/3veZ85Bxl8C6wynLzYV25PCR3saSX7v+7tNf5Ck2RJ2NAGnTOWhvJ4H0D2M/DU/3568ASGogSA=="
    signature = protocol.callback_signature(VECTOR_A["token"], "1614767836", "A7Co0cJLMzIDtMMI", encrypt)
    assert signature == "40726b384ba1fee4fe7d20187b03456eec90183c"


def test_decrypt_rejects_a_wrong_receiver_id():
    with pytest.raises(protocol.CallbackCryptoError) as caught:
        protocol.callback_decrypt(VECTOR_A["aes_key"], "dingsomeoneelse", VECTOR_A["encrypt"])
    assert caught.value.code == 900010


def test_open_rejects_a_changed_signature():
    v = VECTOR_B
    with pytest.raises(protocol.CallbackCryptoError) as caught:
        protocol.callback_open(v["token"], v["aes_key"], v["receiver"], "0" * 40, v["timestamp"], v["nonce"], v["encrypt"])
    assert caught.value.code == 900005


def test_envelope_round_trips_chinese_json():
    message = json.dumps({"EventType": "bpms_instance_change", "title": "张三提交的费用报销"}, ensure_ascii=False)
    env = protocol.callback_envelope("tok123", VECTOR_A["aes_key"], "dingapp", message, "1700000000000", "n0nce")
    opened = protocol.callback_open("tok123", VECTOR_A["aes_key"], "dingapp", env["msg_signature"], env["timeStamp"],
                                    env["nonce"], env["encrypt"])
    assert opened["title"] == "张三提交的费用报销"


def test_robot_signature_matches_the_reference_computation():
    assert protocol.robot_sign("SECtestsecret0123456789", 1700000000000) == "zrLWzK97t62y5CpqN8Ok9UIdPvX+jL1PNoW8nKT5a9k="


KD = {
    "url": "http://k3.example.com/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc",
    "acct": "62f3c9b0aa1b2c",
    "user": "demo",
    "app_id": "230001_K3simAppSecretTestVector00000001",
    "secret": "0123456789abcdef0123456789abcdef",
}


def test_kingdee_headers_match_the_official_sdk_vector():
    headers = protocol.kingdee_headers(KD["url"], KD["acct"], KD["user"], KD["app_id"], KD["secret"], 2052, 0, 1700000000)
    assert protocol.kingdee_client_secret(KD["app_id"]) == "G0sXrGxacNBITObthuZpSrgb6i5V5CkG"
    assert headers["X-Api-ClientID"] == "230001"
    assert headers["X-Api-Signature"] == (
        "Y2FkYjAyMmY1ZTMyZjU5YzI4ZjU0MGNhNTBmMjFlNjA0YzRmOTJlZmM1YmE2MzY2MWExMjhlNzA2ZWY0ZmFmYg=="
    )
    assert headers["X-Kd-Appdata"] == "NjJmM2M5YjBhYTFiMmMsZGVtbywyMDUyLDA="
    assert headers["X-Kd-Signature"] == (
        "YTViZWUzZDkxYWEwODIxODQ1ZjI0ZmU1NWExZTM2YjFhY2JlMjkyYmM5ZGFiZjU5OTAxOWNiZDUzNDQxMmQyYw=="
    )


def test_kingdee_variants_for_query_org_and_chinese_user():
    query_url = KD["url"].replace("DynamicFormService.Save", "DynamicFormService.ExecuteBillQuery")
    path = protocol.kingdee_path_for_signature(query_url)
    assert protocol.kingdee_api_signature(path, "1700000000", "1700000000", KD["app_id"]) == (
        "MDIxMGZiYjc2NWNkYWUyNjA2ZTJjNDljNWFiOGY4ZjUyYTVmNmE5MTY1ZmQxNzhiZmM3ODc3NzMzZjc4YTJiMQ=="
    )
    zhang = protocol.kingdee_headers(KD["url"], KD["acct"], "张三", KD["app_id"], KD["secret"], 2052, 0, 1700000000)
    assert zhang["X-Kd-Appdata"] == "NjJmM2M5YjBhYTFiMmMs5byg5LiJLDIwNTIsMA=="
    assert zhang["X-Kd-Signature"] == (
        "MzU1ODZkZDZhMjc5ZTJhZDQwMTM4MzlkMWNlNDRmYThkYjQ1N2Q5M2YzZmYwYzNiMWNlMDRkZjgzODBlMDFkZQ=="
    )
    assert protocol.parse_kingdee_appdata(zhang["X-Kd-Appdata"]) == (KD["acct"], "张三", "2052", "0")


@pytest.mark.parametrize(
    "user, algorithm, expected",
    [
        ("demo", "sha1", "ce43cf173d4d3ba341581a9b53c63abb6f130c07"),
        ("demo", "sha256", "bfcdcd5c343de4170cbcc3330c5881d04918fc2bfeaea67d977aba21aa53b705"),
        ("张三", "sha1", "b3197346f889671cd6373c8f2ea155a04a1dec80"),
        ("张三", "sha256", "db50cb1713836286e9309b61141bd42c88655b896e1aa7d6febd5dd0e081f4ca"),
    ],
)
def test_sso_signeddata_vectors(user, algorithm, expected):
    assert protocol.kingdee_signeddata(KD["acct"], user, KD["app_id"], KD["secret"], "1700000000", algorithm) == expected


def test_sso_signeddata_with_permitcount():
    signed = protocol.kingdee_signeddata(KD["acct"], "demo", KD["app_id"], KD["secret"], "1700000000", extra=("1",))
    assert signed == "74af8e03269a525f9473aa2b7664e1b4e97f26b6266a0f6d9e546f3973b559a2"

