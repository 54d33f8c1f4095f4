"""The sandbox DingTalk at the root of its own host name, where official SDKs look for it.

The portal mounts the sandbox under /sandbox/dingtalk/; an SDK only takes a host (api.dingtalk.com) and puts
/v1.0/… or /topapi/… right after it. A request whose host name is one of SANDBOX_DINGTALK_HOSTS (any port) is
routed by `sandbox.dingtalk.root_urls`: the DingTalk paths at the root, then everything else as usual.
"""

from django.conf import settings
from django.http.request import split_domain_port


class DingTalkHostMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host, _port = split_domain_port(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""))
        if host and host in settings.SANDBOX_DINGTALK_HOSTS:
            request.urlconf = "sandbox.dingtalk.root_urls"
        return self.get_response(request)
