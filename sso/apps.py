from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = _("Single sign-on")

    def ready(self):
        from sso import login  # noqa: F401 (its signal receivers keep the per-process SSO settings fresh)
