from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self):
        from integrations import checks, versions  # noqa: F401  (checks registers system checks)

        versions.connect_signals()
        from django.db.models.signals import post_migrate

        from integrations import tally_triggers

        post_migrate.connect(tally_triggers.restore, sender=self, dispatch_uid="integrations.tally_triggers")
