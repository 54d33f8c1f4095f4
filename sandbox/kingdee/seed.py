"""Kingdee base data, users and authorization apps for the roster's company. Deterministic and idempotent."""

import base64
import random

from django.db import transaction
from django.db.models import Max

from sandbox import roster
from sandbox.kingdee import accounting, forms_trade, trade
from sandbox.kingdee.bills import ID_START
from sandbox.kingdee.metadata import form_for
from sandbox.kingdee.models import DataCentre, FormRecord, KingdeeUser, Sequence, ThirdPartyApp

INTEGRATION_USER = "demo"
DEMO_PASSWORD = "888888"
LCID = 2052
# BD_SETTLETYPE.FType: 1 cash, 2 bank, 3 bank bill, 4 third-party payment.
SETTLE_CATEGORIES = {"JSFS01_SYS": "1", "JSFS02_SYS": "3", "JSFS03_SYS": "3", "JSFS04_SYS": "2", "JSFS05_SYS": "2",
                     "JSFS31_SYS": "4", "JSFS32_SYS": "4"}
CURRENCY_CODES = {"PRE001": "CNY", "PRE002": "HKD", "PRE007": "USD"}
CUSTOMERS = ["上海云启信息技术有限公司", "杭州数智零售有限公司", "苏州精工装备制造有限公司", "南京百川物流有限公司",
             "宁波海联贸易有限公司"]
SUPPLIERS = ["深圳讯达电子有限公司", "东莞华美包装材料有限公司", "上海申通办公用品有限公司", "北京博文培训咨询有限公司"]


def seed_kingdee(people, seed=roster.DEFAULT_SEED):
    """Create or refresh the sandbox Kingdee; returns the credentials of its WebAPI and SSO apps."""
    rng = random.Random(seed)
    acct_id = f"{rng.getrandbits(56):014x}"
    with transaction.atomic():
        centre, _created = DataCentre.objects.update_or_create(
            acct_id=acct_id, defaults={"name": f"{roster.COMPANY}（沙箱）"})
        _seed_base_data(rng, people)
        users = _seed_users(people)
        webapi = _seed_app(rng, "集成平台 WebAPI", users[INTEGRATION_USER])
        sso = _seed_app(rng, "钉钉单点登录", users[INTEGRATION_USER])
    return {
        "kingdee": {"acct_id": centre.acct_id, "username": INTEGRATION_USER, "app_id": webapi.app_id,
                    "app_secret": webapi.app_secret, "lcid": LCID, "password": DEMO_PASSWORD,
                    "org_number": roster.ORG_NUMBER},
        "kingdee_sso": {"app_id": sso.app_id, "app_secret": sso.app_secret, "acct_id": centre.acct_id},
    }


def upsert(form_id, number, name, model=None, forbidden=False):
    """One audited base-data record; its internal id stays the same across seeds."""
    form = form_for(form_id)
    record = FormRecord.objects.filter(form_id=form.form_id, number=number).first()
    if record is None:
        record = FormRecord(form_id=form.form_id, number=number,
                            fid=Sequence.next(f"{form.form_id}:fid", ID_START))
    record.name = name
    record.forbidden = forbidden
    record.document_status = FormRecord.Status.AUDITED
    record.model = {form.pk: record.fid, form.number_key: number, "FName": name, **(model or {})}
    record.save()
    return record


def _org(number=roster.ORG_NUMBER):
    return {"FNumber": number}


def _seed_base_data(rng, people):
    upsert("ORG_Organizations", roster.ORG_NUMBER, roster.COMPANY, {"FOrgFormID": "法人"})
    upsert("ORG_Organizations", "101", "星河智造（杭州）有限公司", {"FOrgFormID": "利润中心"})
    _seed_departments()
    _seed_employees(people)
    for label, number in roster.EXPENSE_ITEMS:
        upsert("BD_Expense", number, label)
    for number, name in roster.SETTLE_TYPES:
        upsert("BD_SETTLETYPE", number, name, {"FType": SETTLE_CATEGORIES.get(number, "4")})
    for number, name in roster.PAYMENT_PURPOSES:
        upsert("CN_RECPAYPURPOSE", number, name, {"FBizType": "付款"})
    for number, name in roster.CURRENCIES:
        upsert("BD_Currency", number, name, {"FCODE": CURRENCY_CODES[number]})
    for number, name in roster.PAYBILL_TYPES:
        upsert("BOS_BillType", number, name, {"FBillFormID": "AP_PAYBILL"})
    upsert("BOS_BillType", "FYBXD001_SYS", "费用报销", {"FBillFormID": "ER_ExpReimbursement"})
    for number, account, bank in roster.COMPANY_BANK_ACCOUNTS:
        upsert("CN_BANKACNT", number, f"{bank}（{account[-4:]}）",
               {"FACNTNO": account, "FBANKNAME": bank, "FACNTNAME": roster.COMPANY, "FUseOrgId": _org()})
    _seed_partners(rng)
    accounting.seed(upsert)
    trade.seed_trade(rng, people)
    forms_trade.seed_forms(upsert)


def _seed_departments():
    numbers = {dept.dept_id: dept.kingdee_number for dept in roster.departments()}
    for dept in roster.departments():
        parent = {"FNumber": numbers[dept.parent_id]} if dept.parent_id else None
        upsert("BD_Department", dept.kingdee_number, dept.name,
               {"FParentID": parent, "FCreateOrgId": _org(), "FUseOrgId": _org(), "FEffectDate": "2018-01-01T00:00:00",
                "FLapseDate": "9999-12-31T00:00:00"})


def _seed_employees(people):
    numbers = {dept.dept_id: dept.kingdee_number for dept in roster.departments()}
    for person in people:
        posts = [{"FEntryID": 0, "FWorkOrgId": _org(), "FPostDept": {"FNumber": numbers[dept_id]},
                  "FStaffStartDate": f"{person.hired_date:%Y-%m-%d}T00:00:00", "FIsFirstPost": index == 0}
                 for index, dept_id in enumerate(person.dept_ids)]
        record = upsert("BD_Empinfo", person.job_number, person.name,
                        {"FMobile": person.mobile, "FEmail": person.email, "FCreateOrgId": _org(), "FUseOrgId": _org(),
                         "FJoinDate": f"{person.hired_date:%Y-%m-%d}T00:00:00", "FPostEntity": posts},
                        forbidden=not person.active)
        _number_posts(record)
        upsert("BD_Saler", person.job_number, person.name, {"FStaffId": {"FStaffNumber": person.job_number}},
               forbidden=not person.active)


def _number_posts(record):
    for seq, row in enumerate(record.model["FPostEntity"], start=1):
        row["FEntryID"], row["FSeq"] = record.fid * 10 + seq, seq
    record.save(update_fields=["model"])


CUSTOMER_TYPES = {"KHLB001_SYS": "普通销售客户", "KHLB002": "重点客户", "KHLB003": "经销商"}


def _seed_partners(rng):
    for number, name in CUSTOMER_TYPES.items():
        upsert("BOS_ASSISTANTDATA_DETAIL", number, name, {"FId": "客户类别"})
    for index, name in enumerate(CUSTOMERS, start=1):
        upsert("BD_Customer", f"CUST{index:04d}", name,
               {"FShortName": name[:4], "FTRADINGCURRID": {"FNumber": "PRE001"}, "FCreateOrgId": _org(),
                "FUseOrgId": _org(), "FTEL": f"021-{rng.randint(50000000, 69999999)}"})
    for index, name in enumerate(SUPPLIERS, start=1):
        upsert("BD_Supplier", f"VEN{index:05d}", name, {"FShortName": name[:4], "FCreateOrgId": _org(),
                                                        "FUseOrgId": _org()})


def _seed_users(people):
    departments = {dept.dept_id: dept.name for dept in roster.departments()}
    specs = [("Administrator", "Administrator", "系统管理员", "", DEMO_PASSWORD),
             (INTEGRATION_USER, INTEGRATION_USER, "集成用户", "", DEMO_PASSWORD)]
    specs += [(p.kingdee_username, p.job_number, f"{p.name}（{departments[p.dept_ids[0]]}）", p.job_number, "")
              for p in people]
    users = {}
    for username, account, display, staff, password in specs:
        user = KingdeeUser.objects.filter(username=username).first() or KingdeeUser(username=username)
        user.user_id = user.user_id or _next_user_id()
        user.account, user.display_name, user.staff_number = account, display, staff
        person = next((p for p in people if p.job_number == staff), None) if staff else None
        user.phone, user.email = (person.mobile, person.email) if person else ("", "")
        user.enabled = person.active if person else True
        if password and not user.check_password(password):
            user.set_password(password)
        user.save()
        users[username] = user
    return users


def _next_user_id():
    return (KingdeeUser.objects.aggregate(Max("user_id"))["user_id__max"] or 99999) + 1


def _seed_app(rng, name, integration_user):
    """An app id of the real shape `<6 digits>_<32-char base64>`, so the SDK derives a client secret."""
    app_id = f"{rng.randint(200000, 399999)}_{base64.b64encode(rng.randbytes(24)).decode()}"
    secret = f"{rng.getrandbits(128):032x}"
    app, _created = ThirdPartyApp.objects.update_or_create(
        name=name, defaults={"app_id": app_id, "app_secret": secret, "integration_user": integration_user,
                             "enabled": True, "allow_all_users": True})
    return app
