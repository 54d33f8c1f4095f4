from django.urls import path, re_path

from sandbox.kingdee import debug, sso, views

app_name = "sandbox_kingdee"

urlpatterns = [
    path("_faults", debug.faults, name="faults"),
    path("_calls", debug.calls, name="calls"),
    path("_bills", debug.bills, name="bills"),
    re_path(r"(?i)^html5/index\.aspx$", sso.landing, {"page": "index"}, name="landing"),
    re_path(r"(?i)^html5/lightstartapp\.aspx$", sso.landing, {"page": "lightstartapp"}, name="lightstartapp"),
    re_path(r"(?i)^(?P<name>[^/]+)\.common\.kdsvc$", views.service, name="service"),
]
