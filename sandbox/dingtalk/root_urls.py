"""DingTalk's paths at the root (see `sandbox.dingtalk.root`), then the portal's own."""

from django.conf import settings
from django.urls import include, path

urlpatterns = [
    path("", include("sandbox.dingtalk.urls", namespace="sandbox_dingtalk_root")),
    path("", include(settings.ROOT_URLCONF)),
]
