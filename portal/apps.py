from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from portal import checks, models, roles  # noqa: F401 (importing checks registers them)

        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="portal.sync_roles")
        user_logged_in.connect(models.portal_login_succeeded, dispatch_uid="portal.login_succeeded")
        user_login_failed.connect(models.portal_login_failed, dispatch_uid="portal.login_failed")
