from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        from portal import checks, roles  # noqa: F401 (importing checks registers them)

        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="portal.sync_roles")
