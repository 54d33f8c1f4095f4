"""Yida (宜搭) form instances and definitions, v1.0 (round 2 §4), as methods of the DingTalk client.

Every call carries the app code (`appType`), the app's system token (a connection secret) and an acting
`userId`. Searches answer bare objects (no `result` wrapper); definitions answer `{"result": [...]}`.
"""

from urllib.parse import quote

from integrations.clients.errors import ConfigurationError

YIDA_PAGE = 100  # the usual maximum page size (round 2 §4.4)
YIDA_REACH = 30000  # rows a search can page through


class YidaCalls:
    yida_app_type = ""
    yida_system_token = ""

    def _yida(self, user_id):
        if not (self.yida_app_type and self.yida_system_token):
            raise ConfigurationError("the DingTalk connection has no Yida app code or system token",
                                     code="yida_not_configured", system="dingtalk")
        return {"appType": self.yida_app_type, "systemToken": self.yida_system_token, "userId": user_id}

    def yida_search(self, form_uuid, user_id, *, modified_from=None, modified_to=None, page=1, page_size=YIDA_PAGE):
        """One page of `SearchFormDatas`: {currentPage, totalCount, data: [...]}. Times are `yyyy-MM-dd` texts."""
        body = {**self._yida(user_id), "formUuid": form_uuid, "language": "zh_CN", "currentPage": page,
                "pageSize": page_size}
        if modified_from:
            body["modifiedFromTimeGMT"] = modified_from
        if modified_to:
            body["modifiedToTimeGMT"] = modified_to
        return self._v1("POST", "v1.0/yida/forms/instances/search", body)

    def yida_instance(self, instance_id, user_id):
        """`GetFormDataByID`: {formInstId, modifiedTimeGMT, originator{userId, name{…}}, formData}."""
        return self._v1("GET", f"v1.0/yida/forms/instances/{quote(instance_id, safe='')}",
                        params={**self._yida(user_id), "language": "zh_CN"})

    def yida_definitions(self, form_uuid, user_id):
        """[{fieldId, label, componentName, parentId}] of a form's components."""
        params = self._yida(user_id)
        app_type = params.pop("appType")
        path = f"v1.0/yida/forms/definitions/{quote(app_type, safe='')}/{quote(form_uuid, safe='')}"
        return self._v1("GET", path, params={**params, "language": "zh_CN"}).get("result") or []

    def yida_processes(self, form_uuid, user_id, *, modified_from=None, modified_to=None, page=1,
                       page_size=YIDA_PAGE, instance_status=None, approved_result=None):
        """One page of `GetInstances` (process forms, 流程表单): {pageNumber, totalCount, data: [{processInstanceId,
        instanceStatus (RUNNING/TERMINATED/COMPLETED/ERROR), approvedResult (agree/disagree), data, …}]}. The page
        goes in the query, the filters in the body (SDK yida_1_0 `GetInstancesRequest`)."""
        body = {**self._yida(user_id), "formUuid": form_uuid, "language": "zh_CN"}
        for name, value in (("modifiedFromTimeGMT", modified_from), ("modifiedToTimeGMT", modified_to),
                            ("instanceStatus", instance_status), ("approvedResult", approved_result)):
            if value:
                body[name] = value
        return self._v1("POST", "v1.0/yida/processes/instances", body,
                        params={"pageNumber": page, "pageSize": page_size})

    def yida_process(self, instance_id, user_id):
        """`GetInstanceById`: one process instance, the same fields as a `GetInstances` row."""
        return self._v1("GET", f"v1.0/yida/processes/instancesInfos/{quote(instance_id, safe='')}",
                        params={**self._yida(user_id), "language": "zh_CN"})
