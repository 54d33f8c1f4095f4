from django.http import Http404
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from sandbox.kingdee import accounting, debug, sso, views

app_name = "sandbox_kingdee"

KDSVC_SUFFIX = ".common.kdsvc"
LANDING_PAGES = {"html5/index.aspx": "index", "html5/lightstartapp.aspx": "lightstartapp"}


@csrf_exempt
def kingdee_path(request, rest):
    """Kingdee matches paths case-insensitively; a `(?i)` pattern would break reverse() for the whole site."""
    lowered = rest.lower()
    if lowered in LANDING_PAGES:
        return sso.landing(request, page=LANDING_PAGES[lowered])
    if lowered.endswith(KDSVC_SUFFIX) and "/" not in rest:
        return views.service(request, name=rest[: -len(KDSVC_SUFFIX)])
    raise Http404(rest)


urlpatterns = [
    path("_faults", debug.faults, name="faults"),
    path("_calls", debug.calls, name="calls"),
    path("_bills", debug.bills, name="bills"),
    path("_stock", debug.stock, name="stock"),
    path("_periods", accounting.periods, name="periods"),
    path("html5/index.aspx", sso.landing, {"page": "index"}, name="landing"),
    path("html5/lightstartapp.aspx", sso.landing, {"page": "lightstartapp"}, name="lightstartapp"),
    re_path(r"^(?P<rest>.+)$", kingdee_path, name="service"),
]
