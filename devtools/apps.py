from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevtoolsConfig(AppConfig):
    """Demo set-up and benchmarks: installed only with the sandbox, imported by nothing of the product."""

    name = "devtools"
    verbose_name = _("Developer tools")
