from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from portal.views import healthz

admin.site.site_header = _("DingTalk ⇄ Kingdee Integration Portal")
admin.site.site_title = _("DingTalk ⇄ Kingdee Integration Portal")
admin.site.index_title = _("Administration")
# The home page is the map; the lists get the whole width of a 1366 px screen.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("sso/", include("sso.urls")),
    path("m/", include("mobile.urls")),
    path("", include("integrations.urls")),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]

if settings.PORTAL_SANDBOX:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
