from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MobileConfig(AppConfig):
    name = "mobile"
    verbose_name = _("Pages inside DingTalk")
    default_auto_field = "django.db.models.BigAutoField"
