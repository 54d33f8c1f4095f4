"""The sandbox's GL_VOUCHER, periods and attachments through the real Kingdee client, and the targets' own rules."""

import base64

import pytest
import requests

from devtools import demo
from integrations.adapters.kingdee import SaveTarget, VoucherTarget
from integrations.clients import client_for
from integrations.clients.errors import BusinessError
from sandbox.kingdee import accounting
from sandbox.kingdee.models import FormRecord
from tests.accounting.helpers import close_period
from tests.integrations.live import faultless

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kingdee(live_server):
    with faultless(live_server.url) as url:
        credentials = demo.seed_sandbox(instances=5)
        _dingtalk, _robot, connection = demo.sandbox_connections(url, credentials)
        try:
            yield client_for(connection)
        finally:
            close_period(url, "GL", "")
            close_period(url, "AP", "")


def voucher(day="2026-05-31", debit=3480, credit=3480):
    line = {"FCURRENCYID": {"FNumber": "PRE001"}, "FEXCHANGERATETYPE": {"FNumber": "HLTX01_SYS"}, "FEXCHANGERATE": 1}
    return {"FVOUCHERID": 0, "FAccountBookID": {"FNumber": "001"}, "FDate": day, "FBUSDATE": day,
            "FVOUCHERGROUPID": {"FNumber": "PRE001"}, "FEntity": [
                {**line, "FEXPLANATION": "差旅报销 CVN:k1", "FACCOUNTID": {"FNumber": "6602.02"}, "FDEBIT": debit,
                 "FCREDIT": 0},
                {**line, "FEXPLANATION": "差旅报销 CVN:k1", "FACCOUNTID": {"FNumber": "2241.01"}, "FDEBIT": 0,
                 "FCREDIT": credit}]}


def test_vouchers_must_balance_use_detail_accounts_and_are_numbered_per_period(kingdee):
    [refused] = kingdee.batch_save("GL_VOUCHER", [voucher(credit=3000)])
    assert not refused.ok and "借贷不平衡" in refused.message
    assert not FormRecord.objects.filter(form_id="GL_VOUCHER").exists()
    parent = voucher()
    parent["FEntity"][0]["FACCOUNTID"] = {"FNumber": "6602"}
    [refused] = kingdee.batch_save("GL_VOUCHER", [parent])
    assert not refused.ok and "不是明细科目" in refused.message
    first, second, june = kingdee.batch_save("GL_VOUCHER", [voucher(), voucher(), voucher("2026-06-01")])
    assert first.ok and second.ok and june.ok
    numbers = {r.number: FormRecord.objects.get(form_id="GL_VOUCHER", number=r.number).model
               for r in (first, second, june)}
    assert [(m["FYEAR"], m["FPERIOD"], m["FVOUCHERGROUPNO"]) for m in numbers.values()] == [
        (2026, 5, 1), (2026, 5, 2), (2026, 6, 1)]
    rows = kingdee.execute_bill_query("GL_VOUCHER", ["FBillNo", "FEXPLANATION"],
                                      filter_string="FEXPLANATION like '%CVN:k1%'")
    assert {row[0] for row in rows} == set(numbers)


def test_closed_periods_refuse_with_the_references_words(kingdee, live_server):
    close_period(live_server.url, "GL", "2026-05")
    close_period(live_server.url, "AP", "2026-04")
    [closed] = kingdee.batch_save("GL_VOUCHER", [voucher("2026-05-31")])
    assert not closed.ok and "期间" in closed.message and "结账" in closed.message
    [open_] = kingdee.batch_save("GL_VOUCHER", [voucher("2026-06-01")])
    assert open_.ok
    state = requests.get(f"{live_server.url}/sandbox/kingdee/_periods", timeout=5).json()
    assert state["AP"] == {"closed_through": "2026-04", "current_period": "2026-05"}
    bad = requests.post(f"{live_server.url}/sandbox/kingdee/_periods", json={"module": "XX"}, timeout=5)
    assert bad.status_code == 400


def paybill():
    return {"FBillTypeID": {"FNumber": "FKDLX02_SYS"}, "FDATE": "2026-04-30", "FCONTACTUNITTYPE": "BD_Empinfo",
            "FCONTACTUNIT": {"FNumber": FormRecord.objects.filter(form_id="BD_Empinfo").first().number},
            "FRECTUNITTYPE": "BD_Empinfo",
            "FRECTUNIT": {"FNumber": FormRecord.objects.filter(form_id="BD_Empinfo").first().number},
            "FCURRENCYID": {"FNumber": "PRE001"}, "FPAYORGID": {"FNumber": "100"},
            "FSETTLEORGID": {"FNumber": "100"}, "FSETTLECUR": {"FNumber": "PRE001"}, "FREMARK": "借款",
            "FPAYBILLENTRY": [{"FSETTLETYPEID": {"FNumber": "JSFS04_SYS"}, "FPURPOSEID": {"FNumber": "SFKYT12_SYS"},
                               "FPAYTOTALAMOUNTFOR": 100, "FACCOUNTID": {"FNumber": "YHZH001"}}]}


def test_a_target_set_to_redate_books_into_the_first_open_period_with_the_original_date_in_the_remark(
        kingdee, live_server):
    close_period(live_server.url, "AP", "2026-04")
    waiting = SaveTarget({**SaveTarget.defaults(), "form_id": "AP_PAYBILL"}, kingdee, "FTHIRDBILLNO")
    [outcome] = waiting.write([("key-1", paybill())])
    assert not outcome.ok and outcome.waiting and outcome.code == "period_closed"
    assert outcome.params["period"] == "2026-04" and "应付当前期间(2026年第5期)" in outcome.message
    redating = SaveTarget({**SaveTarget.defaults(), "form_id": "AP_PAYBILL", "period_redate": True}, kingdee,
                          "FTHIRDBILLNO")
    [outcome] = redating.write([("key-2", paybill())])
    assert outcome.ok, outcome.message
    model = FormRecord.objects.get(form_id="AP_PAYBILL", number=outcome.number).model
    assert model["FDATE"].startswith("2026-05-01") and "原业务日期 2026-04-30" in model["FREMARK"]


def test_an_unbalanced_voucher_is_refused_before_any_call(kingdee):
    target = VoucherTarget(VoucherTarget.defaults(), kingdee, "FEXPLANATION")
    calls = sum(kingdee.calls.values())
    [outcome] = target.write([("k", {"FDate": "2026-06-01", "CREDIT_AMOUNT": 10,
                                     "FEntity": [{"FACCOUNTID": {"FNumber": "6602.02"}, "FDEBIT": 9.99}]})])
    assert not outcome.ok and outcome.code == "voucher_unbalanced" and outcome.params == {"debit": "9.99",
                                                                                         "credit": "10.00"}
    assert sum(kingdee.calls.values()) == calls and not FormRecord.objects.filter(form_id="GL_VOUCHER").exists()


def test_a_file_kingdee_refuses_takes_the_bill_back_out(kingdee, monkeypatch):
    target = SaveTarget({**SaveTarget.defaults(), "form_id": "AP_PAYBILL"}, kingdee, "FTHIRDBILLNO")
    target.read_attachment = lambda key, file, limit: b"%PDF-1.7"

    def refuse(*args, **kwargs):
        raise BusinessError("上传文件超过单次上传限制", system="kingdee")

    monkeypatch.setattr(type(kingdee), "attachment_upload", refuse)
    payload = {**paybill(), "FDATE": "2026-06-01", "ATTACHMENTS": [{"file_id": "1", "file_name": "发票.pdf"}]}
    [outcome] = target.write([("key-3", payload)])
    assert not outcome.ok and outcome.code == "attachment_failed" and outcome.params["file"] == "发票.pdf"
    assert not FormRecord.objects.filter(form_id="AP_PAYBILL", third_bill_no="key-3").exists()


def test_attachments_as_the_reference_describes_them(kingdee, live_server):
    [saved] = kingdee.batch_save("AP_PAYBILL", [{**paybill(), "FDATE": "2026-06-01"}])
    assert saved.ok, saved.message
    content = bytes(range(256)) * 40
    file_id = kingdee.attachment_upload("AP_PAYBILL", saved.id, saved.number, "发票.pdf", content, chunk_size=3000)
    assert kingdee.attachment_download(file_id) == ("发票.pdf", content)
    [bound] = accounting.attachments_of("AP_PAYBILL", saved.id)
    assert bound["FBillNo"] == saved.number and bound["FExtName"] == ".pdf"

    def call(service, data):
        return kingdee._call(f"DynamicFormService.{service}", {"data": data})

    lost = call("AttachmentUpLoad", {"FileName": "a.pdf", "FormId": "AP_PAYBILL", "InterId": str(saved.id),
                                     "BillNO": saved.number, "SendByte": base64.b64encode(b"x").decode(),
                                     "IsLast": False})  # never committed, yet a success with a FileId
    assert lost["Result"]["ResponseStatus"]["IsSuccess"] and lost["Result"]["FileId"]
    with pytest.raises(BusinessError, match="数据库文件信息表中不存在编码为"):
        kingdee.attachment_download(lost["Result"]["FileId"])
    with pytest.raises(BusinessError, match="data数据包中的参数 IsLast 必传"):
        call("AttachmentUpLoad", {"FileName": "a.pdf", "FormId": "AP_PAYBILL", "InterId": str(saved.id),
                                  "BillNO": saved.number, "SendByte": "eA=="})
    with pytest.raises(BusinessError, match="数据库执行异常"):
        kingdee.execute_bill_query("BOS_Attachment", ["FFileId"])
