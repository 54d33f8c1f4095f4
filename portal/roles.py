"""The two built-in roles and what they may do.

Permissions are listed here, not clicked together in the admin, so that every
deployment grants the same thing and a new model's permissions reach the roles
on the next `migrate` (see `sync_roles_after_migrate`).
"""

from django.contrib.auth.models import Group, Permission

IT_ADMIN = "IT管理员"
FINANCE = "财务复核"

# IT staff manage everything the portal itself owns.
IT_ADMIN_APPS = ["portal", "integrations", "sso", "mobile", "django_q", "sandbox", "sandbox_dingtalk", "sandbox_kingdee"]

# Finance reviews the ledger: records with their reasons, payloads and answers, runs and the dashboard. Not the
# schemes themselves (their mapping rows, value maps, versions and exports are IT's), nor any connection.
# Permissions of models that do not exist yet are skipped.
FINANCE_PERMISSIONS = [
    "integrations.view_syncrun",
    "integrations.view_syncrecord",
    "integrations.retry_syncrecord",
    "integrations.handle_syncrecord",
    "integrations.view_reviewrecord",
]


def permissions_for(role):
    if role == IT_ADMIN:
        return Permission.objects.filter(content_type__app_label__in=IT_ADMIN_APPS)
    pairs = [name.split(".") for name in FINANCE_PERMISSIONS]
    wanted = Permission.objects.none()
    for app_label, codename in pairs:
        wanted |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return wanted


def sync_roles():
    for role in (IT_ADMIN, FINANCE):
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role))


def sync_roles_after_migrate(sender, app_config=None, apps=None, **kwargs):
    """post_migrate is sent once per app, after contrib.auth created that app's permissions: the roles are set
    once, at the last app's signal, when every app's permissions exist (a test database's flush after each
    transactional test sends it too: eleven syncs there cost a second or more per test)."""
    from django.apps import apps as installed

    with_models = [config for config in installed.get_app_configs() if config.models_module is not None]
    if app_config is None or not with_models or app_config.label == with_models[-1].label:
        sync_roles()
