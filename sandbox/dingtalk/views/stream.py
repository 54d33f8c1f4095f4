"""Stream mode registration (reference §4.6): `POST /v1.0/gateway/connections/open` → endpoint and ticket."""

from sandbox.dingtalk import stream
from sandbox.dingtalk.models import App
from sandbox.dingtalk.views.gate import V1, Refusal, api, json_response


@api(V1, auth=False)
def connections_open(request):
    p = request.params
    app = App.objects.filter(app_key=p.get("clientId") or "", app_secret=p.get("clientSecret") or "").first()
    if app is None:
        raise Refusal("invalidClientIdOrSecret", "无效的clientId或clientSecret", status=400)
    subscriptions = p.get("subscriptions") or []
    if not isinstance(subscriptions, list) or not subscriptions:
        raise Refusal("invalidParameter", "subscriptions不能为空")
    if any(s.get("type") == "EVENT" and s.get("topic") != "*" for s in subscriptions if isinstance(s, dict)):
        raise Refusal("invalidParameter", "EVENT类型的订阅topic只能是*")
    endpoint = stream.current_endpoint()
    if not endpoint:
        raise Refusal("ServiceUnavailable", "Stream网关未启动（python manage.py sandbox_stream）", status=503)
    return json_response({"endpoint": endpoint, "ticket": stream.issue_ticket(app, subscriptions)})
