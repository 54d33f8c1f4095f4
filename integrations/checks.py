from django.core.checks import Error, Warning, register
from django.db import DatabaseError

from integrations.fields import current_fernet
from integrations.secrets import unreadable_secrets


@register()
def fernet_keys_check(app_configs, **kwargs):
    try:
        current_fernet()
    except Exception as exc:  # a malformed key must stop start-up, whatever the cause
        return [Error(f"FERNET_KEYS cannot be used: {exc}", hint="Set FERNET_KEYS to comma-separated keys.", id="portal.E001")]
    return []


@register()
def undecryptable_secrets_check(app_configs, **kwargs):
    try:
        lost = list(unreadable_secrets())
    except DatabaseError:
        return []  # not migrated yet: nothing stored, nothing lost
    return [
        Warning(
            f"{kind} '{obj}' has secrets that no key in FERNET_KEYS can decrypt: {', '.join(names)}.",
            hint="Put the old key back at the end of FERNET_KEYS, or enter these secrets again in the admin.",
            obj=obj,
            id="portal.W001",
        )
        for kind, obj, names in lost
    ]
