from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxKingdeeConfig(AppConfig):
    name = "sandbox.kingdee"
    label = "sandbox_kingdee"
    verbose_name = _("Sandbox: Kingdee")
