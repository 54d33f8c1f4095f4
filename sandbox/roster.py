"""The one imaginary company both sandboxes describe, generated deterministically.

The DingTalk sandbox seeds its org chart and approvals from here and the Kingdee
sandbox its base data, so a staff number, a department or an expense item means the
same thing on both sides of the wire, as it would after a real implementation project.
"""

import random
import string
from dataclasses import dataclass, field
from datetime import date, timedelta

COMPANY = "星河智造科技有限公司"
ORG_NUMBER = "100"
CORP_ID = "ding5f2c8a91e3b7d046"
EMAIL_DOMAIN = "xinghe-tech.cn"
DEFAULT_SEED = 20261125
DEFAULT_EMPLOYEES = 60


@dataclass(frozen=True)
class Department:
    dept_id: int  # DingTalk id; the root is 1
    name: str
    parent_id: int | None
    kingdee_number: str


@dataclass
class Employee:
    userid: str
    unionid: str
    name: str
    mobile: str
    email: str
    job_number: str  # DingTalk 工号 and Kingdee staff number
    dept_ids: list[int]
    title: str
    hired_date: date
    bank_account: str
    bank_name: str
    kingdee_username: str
    active: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def staff_number(self):
        return self.job_number


# (path, Kingdee number): the path's last part is the name, the rest its parents.
_DEPARTMENT_PATHS = [
    ("总经办", "BM000001"),
    ("财务中心", "BM000002"),
    ("财务中心/核算部", "BM000003"),
    ("财务中心/资金部", "BM000004"),
    ("人力行政中心", "BM000005"),
    ("人力行政中心/人事部", "BM000006"),
    ("人力行政中心/行政部", "BM000007"),
    ("研发中心", "BM000008"),
    ("研发中心/平台研发部", "BM000009"),
    ("研发中心/产品设计部", "BM000010"),
    ("研发中心/测试部", "BM000011"),
    ("营销中心", "BM000012"),
    ("营销中心/华东大区", "BM000013"),
    ("营销中心/华东大区/上海办事处", "BM000014"),
    ("营销中心/华东大区/杭州办事处", "BM000015"),
    ("营销中心/华南大区", "BM000016"),
    ("营销中心/市场部", "BM000017"),
    ("供应链中心", "BM000018"),
    ("供应链中心/采购部", "BM000019"),
    ("供应链中心/仓储物流部", "BM000020"),
]

# 费用明细 in the approval form → Kingdee expense item (BD_Expense).
EXPENSE_ITEMS = [
    ("办公费", "FYXM01_SYS"),
    ("差旅费", "FYXM02_SYS"),
    ("业务招待费", "FYXM03_SYS"),
    ("通讯费", "FYXM04_SYS"),
    ("培训费", "FYXM05_SYS"),
    ("会议费", "FYXM06_SYS"),
    ("市场推广费", "FYXM07_SYS"),
    ("快递费", "FYXM08_SYS"),
    ("加班餐费", "FYXM09_SYS"),
    ("交通费", "FYXM11_SYS"),
]

SETTLE_TYPES = [
    ("JSFS01_SYS", "现金"), ("JSFS02_SYS", "现金支票"), ("JSFS03_SYS", "转账支票"), ("JSFS04_SYS", "电汇"),
    ("JSFS05_SYS", "信汇"), ("JSFS31_SYS", "微信"), ("JSFS32_SYS", "支付宝"),
]
PAYMENT_PURPOSES = [("SFKYT08_SYS", "采购付款"), ("SFKYT09_SYS", "预付款"), ("SFKYT10_SYS", "费用报销付款"),
                    ("SFKYT12_SYS", "其他支出")]
CURRENCIES = [("PRE001", "人民币"), ("PRE002", "港元"), ("PRE007", "美元")]
PAYBILL_TYPES = [("FKDLX01_SYS", "采购业务付款单"), ("FKDLX02_SYS", "其他业务付款单"), ("FKDLX04_SYS", "费用报销付款单")]
# The company's own bank accounts (CN_BANKACNT): (number, account, bank).
COMPANY_BANK_ACCOUNTS = [
    ("YHZH001", "31050161393600000123", "中国建设银行上海张江支行"),
    ("YHZH002", "121909876510801", "招商银行上海分行营业部"),
]

# The approval template the seed interface (费用报销) uses.
EXPENSE_PROCESS_CODE = "PROC-7C1E3A5B-9D24-4F6B-8A10-FEIYONGBAOXIAO"
EXPENSE_PROCESS_NAME = "费用报销"
REIMBURSEMENT_KINDS = {"行政报销": ["日常办公", "差旅出行", "业务招待", "通讯交通"],
                       "项目报销": ["项目差旅", "项目采购", "外包服务"]}
PROJECTS = ["星河云平台二期", "华东渠道拓展", "ERP升级项目", "智能仓储改造", "无"]
# (component id, label, component type) of the header and of the 报销明细 rows.
EXPENSE_FORM = [
    ("DDSelectField_1QK4RTA0HQ800", "报销类别", "DDSelectField"),
    ("DDSelectField_0ZP9XWB3GSQO0", "行政报销类型", "DDSelectField"),
    ("DDSelectField_1J6TZ2Y8M6V40", "项目报销类型", "DDSelectField"),
    ("DDSelectField_2B9N5QJ1KX7K0", "费用归属项目", "DDSelectField"),
    ("TextareaField_13VQ0F8N2RTC0", "报销事由", "TextareaField"),
    ("TableField_1BDACPXDIFEO0", "报销明细", "TableField"),
    ("MoneyField_1HWHV3FP13C00", "报销总额(元)", "MoneyField"),
    ("DDAttachment_X3TQ0LJ7W2O0", "附件", "DDAttachment"),
]
EXPENSE_TABLE_COLUMNS = [
    ("DDDateField_1P2E4JS7GQ9S0", "费用发生日期", "DDDateField"),
    ("DDSelectField_13PG9B1A8TY80", "费用明细", "DDSelectField"),
    ("MoneyField_1S85G4YLMM5C0", "报销金额(元)", "MoneyField"),
    ("TextField_2M1YQ9ZKC2I80", "收款人", "TextField"),
    ("TextField_0WQ8D1J5Y1XC0", "收款账号", "TextField"),
    ("TextField_1F8XWQ0V6NEO0", "备注说明", "TextField"),
]

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = [
    "伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "霞",
    "平", "刚", "桂英", "丹", "萍", "鹏", "华", "红", "玉兰", "飞", "建华", "晨", "思远", "子涵", "雨桐", "浩然",
    "欣怡", "梓轩", "一鸣", "佳琪", "宇航", "诗雨", "俊杰", "晓峰", "婷婷", "文博", "海燕", "志强", "立新",
    "嘉怡", "建国", "小龙", "慧敏", "雅琴", "少华", "国栋", "晓东", "春梅",
]
_TITLES = ["经理", "主管", "专员", "工程师", "高级工程师", "会计", "出纳", "销售代表", "产品经理", "行政助理"]
_BANKS = ["招商银行上海分行", "中国工商银行杭州西湖支行", "中国建设银行上海浦东分行", "中国银行深圳分行",
          "交通银行上海徐汇支行", "浦发银行上海张江支行"]
_MOBILE_PREFIXES = ["135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "182", "186", "187", "188"]


def departments():
    by_path = {}
    result = [Department(1, COMPANY, None, "BM000000")]
    for index, (path, number) in enumerate(_DEPARTMENT_PATHS):
        parent_path, _sep, name = path.rpartition("/")
        dept = Department(582976300 + index * 7 + 41, name, by_path[parent_path].dept_id if parent_path else 1, number)
        by_path[path] = dept
        result.append(dept)
    return result


def employees(count=DEFAULT_EMPLOYEES, seed=DEFAULT_SEED):
    rng = random.Random(seed)
    non_root = [d for d in departments() if d.parent_id is not None]
    taken_names = set()
    people = []
    for index in range(count):
        name = _unique_name(rng, taken_names)
        dept_ids = [rng.choice(non_root).dept_id]
        if index % 9 == 4:  # some people sit in two departments
            dept_ids.append(rng.choice(non_root).dept_id)
        people.append(
            Employee(
                userid=str(rng.randint(10**17, 10**18 - 1)),
                unionid="".join(rng.choices(string.ascii_letters + string.digits, k=22)) + "iE",
                name=name,
                mobile=rng.choice(_MOBILE_PREFIXES) + f"{rng.randint(0, 10**8 - 1):08d}",
                email=f"emp{index + 1:04d}@{EMAIL_DOMAIN}",
                job_number=f"XH{index + 1:04d}",
                dept_ids=dept_ids,
                title=rng.choice(_TITLES),
                hired_date=date(2018, 1, 1) + timedelta(days=rng.randint(0, 2500)),
                bank_account="6222" + "".join(rng.choices(string.digits, k=15)),
                bank_name=rng.choice(_BANKS),
                kingdee_username=name,
            )
        )
    return people


def _unique_name(rng, taken):
    while True:
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        if name not in taken:
            taken.add(name)
            return name


def expense_item_number(label):
    return dict(EXPENSE_ITEMS)[label]
