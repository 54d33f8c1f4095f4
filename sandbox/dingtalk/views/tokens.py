"""App access tokens, both generations (reference §2)."""

from sandbox.dingtalk.models import App
from sandbox.dingtalk.views.gate import OAPI, V1, api, issue_token, json_response, oapi_error, oapi_ok, v1_error


@api(OAPI, methods=("GET", "POST"), auth=False)
def gettoken(request):
    # Only the query string counts: a form body is "missing" (reference §2.1).
    key, secret = request.GET.get("appkey", ""), request.GET.get("appsecret", "")
    if not key or not secret:
        return oapi_error(40035, "缺少参数 corpid or appkey")
    app = App.objects.filter(app_key=key, app_secret=secret).first()
    if app is None:
        return oapi_error(40096, "不合法的appKey或appSecret")
    token, ttl = issue_token(app, request.faults)
    return oapi_ok(access_token=token, expires_in=ttl)


@api(V1, auth=False)
def access_token(request):
    key, secret = request.params.get("appKey", ""), request.params.get("appSecret", "")
    app = App.objects.filter(app_key=key, app_secret=secret).first() if key and secret else None
    if app is None:
        return v1_error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
    token, ttl = issue_token(app, request.faults)
    return json_response({"accessToken": token, "expireIn": ttl})
