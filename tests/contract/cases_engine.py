"""The two adapters the engine started with, and the engine's own in-memory master-data and message targets."""

from datetime import datetime, timedelta

from tests.contract.registry import SourceCase, TargetCase, TwoWayCase, source, target, two_way
from tests.integrations import mode_fakes
from tests.integrations.fakes import BEIJING, PROCESS_CODE, FakeDingTalk, FakeKingdee, claim

START = datetime(2026, 5, 1, tzinfo=BEIJING)


def approvals():
    return FakeDingTalk([
        claim("c-agree", created=START + timedelta(hours=1)),
        claim("c-refuse", result="refuse", created=START + timedelta(hours=2)),
        claim("c-running", status="RUNNING", result="", created=START + timedelta(hours=3)),
        claim("c-cancel", status="CANCELED", result="", created=START + timedelta(hours=4)),
        claim("c-modify", biz_action="MODIFY", created=START + timedelta(hours=5)),
    ])


source(SourceCase("dingtalk.approval", {"process_code": PROCESS_CODE}, approvals,
                  (START, START + timedelta(days=1)), name="dingtalk.approval"))


def bill(key, item="FYXM02_SYS"):
    return {"FBillTypeID": {"FNumber": "FKDLX04_SYS"}, "FTHIRDBILLNO": key,
            "FPAYBILLENTRY": [{"FCOSTID": {"FNumber": item}, "FPAYTOTALAMOUNTFOR": 100.0}]}


target(TargetCase("kingdee.save", {"form_id": "AP_PAYBILL"}, FakeKingdee,
                  lambda: {"k1": bill("k1"), "k2": bill("k2")}, dedupe_field="FTHIRDBILLNO",
                  rejected=lambda: ("k3", bill("k3", item="FYXM99_SYS")), name="kingdee.save"))


def store():
    mode_fakes.Remote.store = mode_fakes.Store()
    mode_fakes.Remote.sent = []
    return None


target(TargetCase(mode_fakes.StoreTarget.kind, {}, store, lambda: {"d1": {"name": "财务部"}, "d2": {"name": "销售部"}},
                  changed=lambda payload: {**payload, "name": payload["name"] + "（新）"}, name="engine.store"))
target(TargetCase(mode_fakes.MessageTarget.kind, {}, store, lambda: {"m1": {"text": "日报"}}, name="engine.messages"))
two_way(TwoWayCase("engine.store", lambda data: dict(data),
                   lambda state: {k: v for k, v in state.items() if not k.startswith("_")},
                   [({"name": "财务部"}, {"name": "财务部", "_enabled": True})]))
