"""FilterString parsing and ExecuteBillQuery / BillQuery / View answers (reference §5.4–5.6)."""

from decimal import Decimal

import pytest

from sandbox.kingdee import filterstring
from sandbox.kingdee.models import FormRecord
from tests.sandbox_kingdee.payloads import paybill


def matches(text, row):
    return filterstring.evaluate(filterstring.parse(text), row.get)


ROW = {"FBillNo": "FKD00000012", "FDATE": "2026-05-01T00:00:00", "FAmount": 3480, "FName": "张三", "FNote": ""}


@pytest.mark.parametrize("text, expected", [
    ("FBillNo='FKD00000012'", True), ("FBillNo<>'FKD00000012'", False), ("FAmount>3000 and FAmount<=3480", True),
    ("FAmount>='3480.00'", True), ("FName like '张%'", True), ("FName not like '李%'", True),
    ("FBillNo in ('A','FKD00000012')", True), ("FBillNo not in ('FKD00000012')", False),
    ("(FAmount<1 or FName='张三') and FDATE>='2026-05-01'", True), ("FDATE<'2026-05-01'", False),
    ("FDATE between '2026-04-01' and '2026-05-01'", True), ("FNote is null", True), ("FName is not null", True),
    ("not (FAmount=3480)", False), ("1=1", True), ("FName=N'张三'", True), ("FBillNo like 'fkd%'", True),
    ("FName='O''Brien'", False), ("", True),
])
def test_filter_strings_evaluate_like_sql(text, expected):
    assert matches(text, ROW) is expected


def test_filter_strings_name_the_fields_they_use_and_their_equalities():
    tree = filterstring.parse("FTHIRDBILLNO='P-1' and (FAmount>1 or FID in (3, 4))")

    assert filterstring.field_keys(tree) == {"FTHIRDBILLNO", "FAmount", "FID"}
    assert filterstring.equalities(tree) == {"FTHIRDBILLNO": {"P-1"}}
    assert filterstring.equalities(filterstring.parse("FID in (3, 4)")) == {"FID": {str(Decimal(3)), str(Decimal(4))}}


@pytest.mark.parametrize("text", ["FBillNo=", "FBillNo='x' and", "(FBillNo='x'", "FBillNo ~ 'x'", "FBillNo in ('a', FID)"])
def test_malformed_filters_raise_a_filter_error(text):
    with pytest.raises(filterstring.FilterError):
        filterstring.parse(text)


needs_db = pytest.mark.django_db


@needs_db
def test_reference_keys_answer_the_id_the_number_and_the_name(api, people):
    api.save(paybill(people[0], "Q-1"))
    employee = FormRecord.objects.get(form_id="BD_Empinfo", number=people[0].job_number)

    rows = api.query("AP_PAYBILL", "FCONTACTUNIT,FCONTACTUNIT.FNumber,FCONTACTUNIT.FName,FCURRENCYID.FName,"
                                   "FBillTypeID.FNumber,FDATE", "FTHIRDBILLNO='Q-1'")

    assert rows == [[employee.fid, people[0].job_number, people[0].name, "人民币", "FKDLX04_SYS",
                     "2026-05-01T00:00:00"]]


@needs_db
def test_entry_keys_give_one_row_per_entry(api, people):
    model = paybill(people[0], "Q-2")
    model["FPAYBILLENTRY"].append({**model["FPAYBILLENTRY"][0], "FPAYTOTALAMOUNTFOR": 20, "FPAYAMOUNTFOR_E": 20,
                                   "FCOSTID": {"FNumber": "FYXM11_SYS"}})
    api.save(model)

    rows = api.query("AP_PAYBILL", "FPAYBILLENTRY_FEntryID,FCOSTID.FName,FPAYTOTALAMOUNTFOR", "FTHIRDBILLNO='Q-2'",
                     OrderString="FPAYTOTALAMOUNTFOR")

    assert [row[1:] for row in rows] == [["交通费", 20], ["差旅费", 3480]]
    assert rows[0][0] != rows[1][0]


@needs_db
def test_start_row_limit_and_order_page_through_results(api, people):
    rows = [api.query("BD_Empinfo", "FStaffNumber", "FStaffNumber like 'XH%'", OrderString="FStaffNumber DESC",
                      StartRow=start, Limit=5) for start in (0, 5, 10)]

    numbers = sorted((p.job_number for p in people), reverse=True)
    assert [len(page) for page in rows] == [5, 5, 2]
    assert [row[0] for page in rows for row in page] == numbers


@needs_db
def test_unknown_keys_answer_msgcode_9_inside_the_double_list(api):
    answer = api.query("AP_PAYBILL", "FBillNo,FIssueType")

    status = answer[0][0]["Result"]["ResponseStatus"]
    assert status["MsgCode"] == 9 and status["Errors"][0]["Message"] == "元数据中标识为FIssueType的字段不存在"


@needs_db
def test_departments_inventory_customers_and_users_are_queryable(api):
    departments = api.query("BD_Department", "FNumber,FName,FParentID.FNumber", "FName like '%大区'",
                            OrderString="FNumber")
    stock = api.query("STK_Inventory", "FMaterialId.FNumber,FStockId.FName,FBaseQty",
                      "FMaterialId.FNumber='1.01.001' and FBaseQty>=0")
    customers = api.query("BD_Customer", "FNumber,FName,FTRADINGCURRID.FNumber", "FNumber='CUST0001'")
    users = api.query("SEC_User", "FUserID,FName,FForbidStatus", "FName='demo'")

    assert departments == [["BM000013", "华东大区", "BM000012"], ["BM000016", "华南大区", "BM000012"]]
    assert stock and all(row[0] == "1.01.001" and isinstance(row[2], int) for row in stock)
    assert customers == [["CUST0001", "上海云启信息技术有限公司", "PRE001"]]
    assert [row[1:] for row in users] == [["demo", "A"]]


@needs_db
def test_bill_query_answers_objects_keyed_by_the_requested_keys(api):
    data = {"FormId": "BD_Currency", "FieldKeys": "FNumber,FName", "FilterString": "FNumber='PRE001'"}

    assert api.post("DynamicFormService.BillQuery", {"data": data}) == [{"FNumber": "PRE001", "FName": "人民币"}]


@needs_db
def test_view_answers_orm_property_names(api, people):
    number = api.save(paybill(people[0], "Q-VIEW"))["Result"]["Number"]

    answer = api.post("DynamicFormService.View", {"formid": "AP_PAYBILL", "data": {"Number": number}})

    bill = answer["Result"]["Result"]
    assert answer["Result"]["ResponseStatus"]["IsSuccess"] is True
    assert (bill["BillNo"], bill["DocumentStatus"], bill["THIRDBILLNO"]) == (number, "A", "Q-VIEW")
    assert bill["CURRENCYID"]["Number"] == "PRE001" and bill["CURRENCYID_Id"] == bill["CURRENCYID"]["Id"]
    assert bill["PAYBILLENTRY"][0]["COSTID"]["Name"] == [{"Key": 2052, "Value": "差旅费"}]
