from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxDingTalkConfig(AppConfig):
    name = "sandbox.dingtalk"
    label = "sandbox_dingtalk"
    verbose_name = _("Sandbox: DingTalk")
