from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _


class MobileConfig(AppConfig):
    name = "mobile"
    verbose_name = _("Pages inside DingTalk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        """Any change to who may search or what they may see reaches every process's memo (`access`)."""
        from import_export.signals import post_import

        from mobile import access
        from mobile.models import InventoryScope, LookupSettings
        from sso.models import IdentityMap

        for model in (IdentityMap, InventoryScope, LookupSettings):
            post_save.connect(access.changed, sender=model, dispatch_uid=f"mobile-access-save-{model.__name__}")
            post_delete.connect(access.changed, sender=model, dispatch_uid=f"mobile-access-delete-{model.__name__}")
        m2m_changed.connect(access.changed, sender=InventoryScope.members.through, dispatch_uid="mobile-access-m2m")
        post_import.connect(access.changed, dispatch_uid="mobile-access-import")  # bulk imports skip save()
