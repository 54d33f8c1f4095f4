"""The two-way customers' adapters: DingTalk CRM customers (round 2 §6, v1.0 shapes) paired with Kingdee customers."""

from datetime import datetime, timedelta

from integrations import mapping, market
from integrations.adapters.masterdata import flatten
from integrations.clients.errors import BusinessError
from tests.contract.registry import SourceCase, TwoWayCase, source, two_way
from tests.integrations.fakes import BEIJING

START = datetime(2026, 5, 1, tzinfo=BEIJING)
CUSTOMERS = [
    {"instanceId": f"inst{index}", "objectType": "crm_customer", "createTime": "2026-05-01 09:00:00",
     "modifyTime": f"2026-05-0{index} 10:00:00", "creatorUserId": "u1", "creatorNick": "张伟",
     "data": {"customer_name": f"杭州客户{index}有限公司", "credit_code": f"9133{index:014d}",
              "phone": {"value": f"0571-{index}", "extendValue": "{}"}, "address": "杭州", "short_name": f"客户{index}",
              "customer_type": "普通客户"},
     "extendData": {}, "permission": {"ownerStaffIds": ["u1"], "participantStaffIds": []},
     "processOutResult": "agree", "processInstanceStatus": "COMPLETE"} for index in range(1, 4)]


class FakeCrm:
    """The DingTalk client's v1.0 calls for QueryAllCustomer (pages of two), CreateCustomer and
    BatchUpdateRelationDatas, answering in the official crm_1_0 models' shapes."""

    def __init__(self):
        self.customers = [dict(c) for c in CUSTOMERS]

    def _v1(self, method, path, body=None, params=None):
        if path == "v1.0/crm/customerInstances":
            if not body.get("operatorUserId"):
                raise BusinessError("operatorUserId 不能为空", code="param.error", system="dingtalk")
            start = int(body.get("nextToken") or 0)
            page = {"values": self.customers[start:start + 2], "maxResults": 2}
            if start + 2 < len(self.customers):
                page["nextToken"] = str(start + 2)
            return {"result": page}
        if path == "v1.0/crm/customers":
            key = f"inst{len(self.customers) + 1}"
            self.customers.append({**CUSTOMERS[0], "instanceId": key, "data": body["data"],
                                   "permission": body["permission"]})
            return {"customerInstanceId": key, "objectType": "crm_customer", "contacts": []}
        if path == "v1.0/crm/relationDatas/batch":
            results = []
            for relation in body["relationList"]:
                found = next((c for c in self.customers if c["instanceId"] == relation["relationId"]), None)
                if found is not None:
                    found["data"] = {**found["data"], **{i["key"]: i["value"] for i in relation["bizDataList"]}}
                results.append({"success": found is not None, "relationId": relation["relationId"],
                                "errorMsg": "" if found else "客户不存在"})
            return {"results": results}
        raise AssertionError(path)


source(SourceCase("dingtalk.crm", {"operator_userid": "manager"}, FakeCrm, (START, START + timedelta(days=1)),
                  name="dingtalk.crm customers"))

TEMPLATE = market.get("dingtalk-crm-kingdee-customers")
ROWS = [mapping.Row(r["target"], r["source"], r["transform"], r["params"], r["required"], r["default"])
        for r in TEMPLATE["mappings"]]
FORWARD = [row for row in ROWS if not row.target.startswith("dingtalk.")]
BOTH = {row.source for row in ROWS if row.target.startswith("dingtalk.")}
LOOKUPS = mapping.Lookups(
    value_maps={m["name"]: {e["source"]: e["target"] for e in m["entries"]} for m in TEMPLATE["value_maps"]},
    identity=lambda userid: {"staff_number": "XH0001"} if userid == "u1" else None)


def dingtalk_fields(data):
    """A CRM customer as the template maps it into Kingdee's fields (the comparable view)."""
    flat = {key: value.get("value") if isinstance(value, dict) else value for key, value in data["data"].items()}
    flat["owner"] = data["permission"]["ownerStaffIds"][0]
    payload = flatten(mapping.build_payload(FORWARD, flat, LOOKUPS).payload)
    return {name: payload.get(name, "") for name in BOTH}


def kingdee_fields(state):
    return {name: state.get(name, "") for name in BOTH}


two_way(TwoWayCase("dingtalk.crm ⇄ kingdee.customer", dingtalk_fields, kingdee_fields, records=[
    (customer, {"FName": customer["data"]["customer_name"], "FShortName": customer["data"]["short_name"],
                "FSOCIALCRECODE": customer["data"]["credit_code"], "FTEL": customer["data"]["phone"]["value"],
                "FADDRESS": "杭州", "FSELLER": "XH0001", "FCustTypeId": "KHLB001_SYS"}) for customer in CUSTOMERS]))
