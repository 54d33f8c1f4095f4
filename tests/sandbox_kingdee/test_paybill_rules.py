"""AP_PAYBILL as Kingdee validates it: required fields, base data, bank accounts, status machine (reference §5.3, §7.2)."""

import re
import threading

import pytest

from integrations.clients.kingdee import KingdeeClient
from sandbox.kingdee.models import FormRecord
from tests.sandbox_kingdee.payloads import CASH, paybill

pytestmark = pytest.mark.django_db


def errors_of(result):
    return [(e["FieldName"], e["Message"], e["DIndex"]) for e in result["Result"]["ResponseStatus"]["Errors"]]


def test_a_valid_employee_reimbursement_package_saves(api, people):
    result = api.save(paybill(people[0], "PROC-OK"), IsVerifyBaseDataField="true", NeedReturnFields=["FBillNo"])

    number = result["Result"]["Number"]
    assert re.fullmatch(r"FKD\d{8}", number)
    assert result["Result"]["ResponseStatus"] == {
        "IsSuccess": True, "Errors": [], "SuccessEntitys": [{"Id": result["Result"]["Id"], "Number": number,
                                                            "DIndex": 0}],
        "SuccessMessages": [], "MsgCode": 0}
    bill = FormRecord.objects.get(third_bill_no="PROC-OK")
    assert (bill.form_id, bill.number, bill.document_status) == ("AP_PAYBILL", number, "A")
    entry = bill.model["FPAYBILLENTRY"][0]
    assert entry["FEntryID"] > 0 and entry["FSeq"] == 1
    assert bill.model["FDATE"] == "2026-05-01T00:00:00" and bill.model["FPAYAMOUNTFOR"] == 3480


def test_an_unknown_expense_item_fails_naming_the_field_and_the_value(api, people):
    result = api.save(paybill(people[0], "PROC-X", cost="FYXM99_SYS"), IsVerifyBaseDataField=True)

    assert result["Result"]["ResponseStatus"]["ErrorCode"] == 500
    assert errors_of(result) == [("FCOSTID", "第1行分录，字段“费用项目”(FCOSTID)的值“FYXM99_SYS”在基础资料“费用项目”"
                                             "(BD_Expense)中不存在、未审核或已禁用！", 0)]
    assert not FormRecord.objects.filter(third_bill_no="PROC-X").exists()


def test_without_verification_an_unknown_expense_item_is_silently_emptied(api, people):
    result = api.save(paybill(people[0], "PROC-SILENT", cost="FYXM99_SYS"))

    assert result["Result"]["ResponseStatus"]["IsSuccess"] is True
    rows = api.query("AP_PAYBILL", "FCOSTID,FCOSTID.FNumber", "FTHIRDBILLNO='PROC-SILENT'")
    assert rows == [[0, ""]]


def test_without_verification_an_unknown_contact_unit_is_emptied_and_then_missing(api, people):
    model = paybill(people[0], "PROC-NOBODY")
    model["FCONTACTUNIT"] = {"FNumber": "XH9999"}

    result = api.save(model)

    assert errors_of(result) == [("FCONTACTUNIT", "字段“往来单位”(FCONTACTUNIT)是必填项！", 0)]


def test_the_contact_unit_must_exist_in_the_form_its_type_names(api, people):
    model = paybill(people[0], "PROC-TYPE")
    model["FCONTACTUNITTYPE"] = "BD_Supplier"

    result = api.save(model, IsVerifyBaseDataField=True)

    assert errors_of(result)[0][:2] == ("FCONTACTUNIT", f"字段“往来单位”(FCONTACTUNIT)的值“{people[0].job_number}”在"
                                                        "基础资料“供应商”(BD_Supplier)中不存在、未审核或已禁用！")


def test_a_forbidden_employee_counts_as_missing(api, people):
    FormRecord.objects.filter(form_id="BD_Empinfo", number=people[0].job_number).update(forbidden=True)

    result = api.save(paybill(people[0], "PROC-LEFT"), IsVerifyBaseDataField=True)

    assert [field for field, _message, _index in errors_of(result)] == ["FCONTACTUNIT", "FRECTUNIT"]


def test_a_bank_settle_type_needs_our_bank_account(api, people):
    result = api.save(paybill(people[0], "PROC-BANK", account=None), IsVerifyBaseDataField=True)

    assert errors_of(result) == [("FACCOUNTID", "第1行分录，银行业务的结算方式，我方银行相关信息必录！", 0)]


def test_cash_needs_no_bank_account(api, people):
    result = api.save(paybill(people[0], "PROC-CASH", settle=CASH, account=None), IsVerifyBaseDataField=True)

    assert result["Result"]["ResponseStatus"]["IsSuccess"] is True


def test_missing_required_fields_are_each_named(api, people):
    model = paybill(people[0], "PROC-HOLES")
    del model["FDATE"], model["FPAYORGID"]
    model["FPAYBILLENTRY"][0].pop("FPURPOSEID")
    model["FPAYBILLENTRY"][0]["FPAYTOTALAMOUNTFOR"] = 0

    result = api.save(model)

    assert [(field, message) for field, message, _index in errors_of(result)] == [
        ("FDATE", "字段“业务日期”(FDATE)是必填项！"), ("FPAYORGID", "字段“付款组织”(FPAYORGID)是必填项！"),
        ("FPURPOSEID", "第1行分录，字段“付款用途”(FPURPOSEID)是必填项！"),
        ("FPAYTOTALAMOUNTFOR", "第1行分录，字段“应付金额”(FPAYTOTALAMOUNTFOR)必须大于0！"),
    ]
    assert result["Result"]["ResponseStatus"]["MsgCode"] == 11


def test_a_package_without_entry_rows_is_refused(api, people):
    model = paybill(people[0], "PROC-EMPTY")
    model["FPAYBILLENTRY"] = []

    assert errors_of(api.save(model))[0][0] == "FPAYBILLENTRY"


def test_the_third_bill_number_finds_the_bill(api, people):
    number = api.save(paybill(people[0], "PROC-INST-8f2a"))["Result"]["Number"]
    api.save(paybill(people[1], "PROC-INST-other"))

    rows = api.query("AP_PAYBILL", "FID,FBillNo,FDocumentStatus", "FTHIRDBILLNO='PROC-INST-8f2a'")

    assert [row[1:] for row in rows] == [[number, "A"]]


def test_a_duplicate_bill_number_is_refused_with_msgcode_11(api, people):
    model = {**paybill(people[0], "PROC-DUP"), "FBillNo": "FKD-MANUAL-1"}
    api.save(model)

    result = api.save(model)

    assert result["Result"]["ResponseStatus"]["MsgCode"] == 11
    assert errors_of(result) == [("FBillNo", "违反字段唯一性要求：编码唯一。[FKD-MANUAL-1]在当前系统中已经被使用。", 0)]


def test_batch_save_saves_good_packages_and_reports_bad_ones_by_dindex(api, people):
    models = [paybill(people[0], "B-0"), paybill(people[1], "B-1", account=None), paybill(people[2], "B-2"),
              paybill(people[3], "B-3", cost="NOPE")]

    result = api.save(models, service="BatchSave", IsVerifyBaseDataField=True)

    status = result["Result"]["ResponseStatus"]
    assert [entity["DIndex"] for entity in status["SuccessEntitys"]] == [0, 2]
    assert [(field, index) for field, _message, index in errors_of(result)] == [("FACCOUNTID", 1), ("FCOSTID", 3)]
    assert status["IsSuccess"] is False and status["ErrorCode"] == 500
    assert sorted(FormRecord.objects.filter(form_id="AP_PAYBILL").values_list("third_bill_no", flat=True)) == \
        ["B-0", "B-2"]


def test_the_status_machine_moves_a_bill_from_created_to_audited_and_back(api, people):
    number = api.save(paybill(people[0], "PROC-FLOW"))["Result"]["Number"]
    label = f"单据编号为“{number}”的付款单"

    assert errors_of(api.operate("Audit", [number])) == [("", f"{label}，单据未提交，不能审核！", 0)]
    assert api.operate("Submit", [number])["Result"]["ResponseStatus"]["IsSuccess"]
    assert errors_of(api.operate("Delete", [number])) == [("", f"{label}，单据已经提交，不能删除！", 0)]
    assert api.operate("Audit", [number])["Result"]["ResponseStatus"]["SuccessMessages"][0]["Message"] == \
        f"{label}，审核成功！"
    again = api.operate("Audit", [number])
    assert again["Result"]["ResponseStatus"]["MsgCode"] == 11
    assert errors_of(again) == [("", f"{label}，单据已经审核！", 0)]
    assert api.operate("UnAudit", [number])["Result"]["ResponseStatus"]["IsSuccess"]
    assert FormRecord.objects.get(number=number).document_status == "D"
    assert api.operate("Delete", [number])["Result"]["ResponseStatus"]["IsSuccess"]
    assert not FormRecord.objects.filter(number=number).exists()


def test_operations_accept_ids_and_report_unknown_numbers(api, people):
    saved = api.save(paybill(people[0], "PROC-IDS"))["Result"]
    result = api.post("DynamicFormService.Submit", {"formid": "AP_PAYBILL", "data": {"Ids": str(saved["Id"])}})
    missing = api.operate("Submit", ["FKD99999999"])

    assert result["Result"]["ResponseStatus"]["SuccessEntitys"][0]["Number"] == saved["Number"]
    assert errors_of(missing) == [("", "单据编号为“FKD99999999”的付款单不存在或已被删除！", 0)]


def test_an_update_keeps_the_bill_and_its_number(api, people):
    saved = api.save(paybill(people[0], "PROC-EDIT"))["Result"]
    model = {**paybill(people[0], "PROC-EDIT"), "FID": saved["Id"], "FREMARK": "改过的备注"}

    result = api.save(model)

    assert result["Result"]["Number"] == saved["Number"]
    assert FormRecord.objects.get(fid=saved["Id"], form_id="AP_PAYBILL").model["FREMARK"] == "改过的备注"


def test_auto_submit_and_audit_books_an_audited_bill(api, people):
    result = api.save(paybill(people[0], "PROC-AUTO"), IsAutoSubmitAndAudit="true")

    assert FormRecord.objects.get(number=result["Result"]["Number"]).document_status == "C"


def test_base_data_saves_and_refuses_a_duplicate_number(api):
    model = {"FNumber": "CUST0100", "FName": "测试客户", "FCreateOrgId": {"FNumber": "100"},
             "FTRADINGCURRID": {"FNumber": "PRE001"}}

    first = api.save(model, form="BD_Customer", IsVerifyBaseDataField=True)
    second = api.save(model, form="BD_Customer")

    assert first["Result"]["ResponseStatus"]["IsSuccess"] is True
    assert errors_of(second) == [("FNumber,FUseOrgId", '编码为"CUST0100"的客户，组织内编码唯一', 0)]


def test_an_unknown_form_is_stored_as_a_generic_bill(api):
    result = api.save({"FDate": "2026-05-01", "FEntity": [{"FQty": 2}, {"FQty": 3}]}, form="ER_ExpReimbursement")

    rows = api.query("ER_ExpReimbursement", "FBillNo,FEntity_FEntryID,FQty", "FQty>2")
    assert rows == [[result["Result"]["Number"], rows[0][1], 3]]


@pytest.mark.django_db(transaction=True)
def test_bill_numbers_stay_unique_under_concurrent_writers(creds, kd_url, people):
    kingdee = creds["kingdee"]
    client = KingdeeClient(base_url=kd_url, acct_id=kingdee["acct_id"], username=kingdee["username"],
                           app_id=kingdee["app_id"], app_secret=kingdee["app_secret"], max_concurrency=8)
    numbers, failures = [], []

    def write(worker):
        try:
            outcomes = client.batch_save("AP_PAYBILL", [paybill(people[i], f"C-{worker}-{i}") for i in range(5)])
            numbers.extend(outcome.number for outcome in outcomes if outcome.ok)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    client.session.close()
    assert failures == []
    assert len(numbers) == len(set(numbers)) == 30
