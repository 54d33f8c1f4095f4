"""`bench_admin`'s data and measurement, run only inside the scratch database the command creates:
a realistic ledger (records with their claim, payload and Kingdee answer; runs every 30 minutes) over
the last 30 days, then the review list and the dashboard rendered as a finance user, after ANALYZE."""

import random
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations import market
from integrations.models import Alert, Connection, SyncRecord, SyncRun
from portal.roles import FINANCE, sync_roles
from sso.models import IdentityMap, only_dingtalk_organisation

Status, Via = SyncRecord.Status, SyncRecord.Via
PEOPLE = 300
FAILURES = [
    "第1行分录，字段“费用项目”(FCOSTID)的值“{item}”在基础资料中不存在！",
    "值映射“费用明细→金蝶费用项目”中没有“{label}”的条目。",
    "钉钉用户 {userid} 在身份映射中没有启用的条目。",
    "字段“收款账号”(FOPPOSITEBANKACCOUNT)不能为空。",
    "单据保存失败：会计期间已关账，不能保存业务日期在 2026-04 的单据。",
]
SKIPS = ["在钉钉中被拒绝。", "在钉钉中已撤回或终止。", "在钉钉中已取消。"]
LABELS = ["差旅费", "交通费", "餐费", "办公用品", "通讯费", "团建费", "培训费"]


@contextmanager
def explicit_times(*fields):
    """bulk_create keeps the times given instead of stamping now."""
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field, *_flags in saved:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def fill(records, failed_share, seed=7, on_first=None, first=100):
    """The whole ledger; `on_first(user)` is called once the first `first` records are in."""
    rng = random.Random(seed)
    sync_roles()
    schemes = make_schemes()
    organisation = only_dingtalk_organisation()
    people = [IdentityMap(dingtalk=organisation, dingtalk_userid=f"u{n:04d}", name=rng.choice("张王李赵刘陈杨黄周吴") + rng.choice(
        ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰"]), kingdee_username=f"kd{n:04d}",
        kingdee_staff_number=f"XH{n:04d}") for n in range(PEOPLE)]
    IdentityMap.objects.bulk_create(people)
    now = timezone.now()
    robot = Connection.objects.get(kind=Connection.Kind.DINGTALK_ROBOT)
    Alert.objects.bulk_create([Alert(kind=Alert.Kind.RECORDS_FAILED, scheme=schemes[0], connection=robot,
                                     title=f"{schemes[0].name}: 3 条记录未能入账", text="…", status=Alert.Status.SENT)
                               for _n in range(5)])
    user = User.objects.create_user("finance-bench", password=None, is_staff=True)
    user.groups.add(Group.objects.get(name=FINANCE))
    with explicit_times(SyncRun._meta.get_field("started_at"), SyncRecord._meta.get_field("created_at"),
                        SyncRecord._meta.get_field("updated_at")):
        with transaction.atomic():
            runs = make_runs(schemes, now, rng)
        first = min(first, records)
        make_records(0, first, failed_share, schemes, runs, now, rng)
        if on_first:
            on_first(user)
        make_records(first, records, failed_share, schemes, runs, now, rng)
    return user


def make_schemes():
    dingtalk = Connection.objects.create(name="钉钉", kind="dingtalk", base_url="http://127.0.0.1:9/",
                                         api_base_url="http://127.0.0.1:9/", app_key="k", app_secret="s",
                                         corp_id="c")
    kingdee = Connection.objects.create(name="金蝶", kind="kingdee", base_url="http://127.0.0.1:9/k3cloud/",
                                        acct_id="a", username="u", app_id="i", app_secret="s")
    robot = Connection.objects.create(name="财务群机器人", kind="dingtalk_robot", base_url="http://127.0.0.1:9/",
                                      robot_token="t", robot_secret="SECs")
    names = ["费用报销 → 付款单", "差旅报销 → 付款单"]
    schemes = [market.create_scheme(market.DEFAULT, name=name, source_connection=dingtalk, target_connection=kingdee,
                                    alert_connection=robot) for name in names]
    return schemes


def make_runs(schemes, now, rng):
    runs = []
    for scheme in schemes:
        start = now - timedelta(days=30)
        while start < now:
            seconds = rng.uniform(2, 40) if rng.random() > 0.02 else rng.uniform(60, 300)
            runs.append(SyncRun(scheme=scheme, trigger="schedule", status=SyncRun.Status.SUCCEEDED, exclusive=True,
                                started_at=start, finished_at=start + timedelta(seconds=seconds),
                                window_start=start - timedelta(minutes=35), window_end=start,
                                succeeded_count=rng.randrange(0, 8)))
            start += timedelta(minutes=30)
    return SyncRun.objects.bulk_create(runs, batch_size=1000)


def make_records(start, stop, failed_share, schemes, runs, now, rng):
    by_scheme = {scheme.pk: [run for run in runs if run.scheme_id == scheme.pk] for scheme in schemes}
    batch = []
    for index in range(start, stop):
        scheme = schemes[index % len(schemes)]
        when = now - timedelta(seconds=rng.uniform(0, 30 * 86400 - 3600))
        scheme_runs = by_scheme[scheme.pk]
        run = scheme_runs[min(len(scheme_runs) - 1, int((when - scheme_runs[0].started_at).total_seconds() // 1800))]
        batch.append(record(index, scheme, run, when, failed_share, rng))
        if len(batch) == 2000:
            with transaction.atomic():
                SyncRecord.objects.bulk_create(batch)
            batch = []
    SyncRecord.objects.bulk_create(batch)


def record(index, scheme, run, when, failed_share, rng):
    userid = f"u{rng.randrange(PEOPLE + 20):04d}"  # a few originators are not in the identity map
    label = rng.choice(LABELS)
    amount = Decimal(rng.randrange(1000, 500000)) / 100
    key = f"{index:06d}-{rng.getrandbits(64):016x}"
    data = claim(key, userid, label, amount, when)
    roll = rng.random()
    fields = dict(status=Status.SUCCEEDED, booked_via=rng.choices([Via.EVENT, Via.POLLING, Via.RETRY, Via.BACKFILL],
                                                                  [70, 24, 3, 3])[0])
    if roll < failed_share:
        fields = dict(status=Status.FAILED, error_kind=rng.choice(["rejected", "mapping"]),
                      error=rng.choice(FAILURES).format(item=f"FYXM{rng.randrange(90, 99)}", label=label,
                                                        userid=userid))
    elif roll < failed_share + 0.01:
        fields = dict(status=Status.SKIPPED, error=rng.choice(SKIPS))
    elif roll < failed_share + 0.015:
        fields = dict(status=Status.HANDLED, note="已线下付款", error="单据保存失败：会计期间已关账。")
    booked = fields["status"] == Status.SUCCEEDED
    number = f"FKD{index:08d}" if booked else ""
    return SyncRecord(
        scheme=scheme, source_key=key, source_time=when - timedelta(hours=5), title=data["title"],
        source_number=data["business_id"], originator=userid, amount=amount, source_data=data,
        payload={"FTHIRDBILLNO": key, "FDATE": when.date().isoformat(), "FREMARK": data["form"]["报销事由"],
                 "FPAYBILLENTRY": [{"FCOSTID": {"FNumber": "FYXM02_SYS"}, "FPAYTOTALAMOUNTFOR": str(amount)}]},
        response={"Result": {"ResponseStatus": {"IsSuccess": booked}, "Number": number}},
        target_number=number, target_id=str(100000 + index) if booked else "", attempts=1 if booked else 2,
        last_attempt_at=when, booked_at=when if booked else None, run=run, created_at=when, updated_at=when,
        **fields,
    )


def claim(key, userid, label, amount, when):
    return {
        "process_instance_id": key, "title": f"{userid}提交的费用报销", "status": "COMPLETED", "result": "agree",
        "business_id": f"2026{key[:6]}", "originator_userid": userid, "create_time": when.isoformat(),
        "finish_time": when.isoformat(), "originator_dept_id": "582976341", "originator_dept_name": "财务中心-核算部",
        "form": {"报销事由": "上海出差拜访客户", "报销总额(元)": str(amount), "报销明细": [
            {"费用发生日期": when.date().isoformat(), "费用明细": label, "报销金额(元)": str(amount),
             "收款人": "张伟", "收款账号": "6222000011112222", "备注说明": "高铁二等座往返"}]},
    }


PAGES = {"review_list": "admin:integrations_reviewrecord_changelist", "dashboard": "admin:integrations_dashboard"}


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def query_counts(user):
    """{page: queries one render makes}."""
    client, counts = logged_in(user), {}
    for name, url_name in PAGES.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(url_name))
        if response.status_code != 200:
            raise RuntimeError(f"{url_name} answered {response.status_code}")
        counts[name] = len(queries)
    return counts


def analyse():
    """Fresh planner statistics and visibility map, as autovacuum keeps them on a live database."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        if connection.vendor == "postgresql":
            # The fill's dirty pages written now, not by the checkpointer while pages are being measured.
            cursor.execute("CHECKPOINT")


def render_times(user, repeat):
    """{page: ([wall ms per render], [CPU ms of this process per render])}, after one unmeasured render."""
    client, results = logged_in(user), {}
    for name, url_name in PAGES.items():
        url = reverse(url_name)
        client.get(url)
        walls, cpus = [], []
        for _n in range(repeat):
            started, cpu = time.perf_counter(), time.process_time()
            client.get(url)
            walls.append(1000 * (time.perf_counter() - started))
            cpus.append(1000 * (time.process_time() - cpu))
        results[name] = (walls, cpus)
    return results
