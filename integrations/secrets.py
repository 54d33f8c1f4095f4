"""Operations over every encrypted field of every model: rotation and loss detection."""

from dataclasses import dataclass

from django.apps import apps
from django.db import transaction
from django.utils.translation import gettext

from integrations.fields import SecretField, is_undecryptable


@dataclass
class RotationReport:
    rows: int = 0
    values: int = 0
    unreadable: list = None

    def __post_init__(self):
        self.unreadable = self.unreadable or []


def encrypted_models():
    """Models with at least one SecretField, each with the names of those fields."""
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, SecretField)]
        if names:
            yield model, names


def lost_key_message(connection):
    """What IT reads wherever a connection's secrets cannot be decrypted (a lost or removed FERNET_KEYS key)."""
    return gettext(
        "Connection “%(name)s”: %(fields)s cannot be decrypted with the current FERNET_KEYS. "
        "Add the old key back at the end of FERNET_KEYS, or enter these secrets again and save."
    ) % {"name": connection.name, "fields": ", ".join(str(type(connection)._meta.get_field(name).verbose_name)
                                                      for name in connection.undecryptable_secrets())}


def unreadable_secrets():
    """(model label, object, field names) for every row with a secret no key can decrypt."""
    for model, names in encrypted_models():
        for obj in model._default_manager.iterator():
            lost = [name for name in names if is_undecryptable(getattr(obj, name))]
            if lost:
                yield model._meta.verbose_name, obj, lost


def reencrypt_all():
    """Rewrite every readable secret with the newest key; unreadable ones are reported, not touched."""
    report = RotationReport()
    for model, names in encrypted_models():
        for obj in model._default_manager.iterator():
            readable = [name for name in names if not is_undecryptable(getattr(obj, name))]
            lost = [name for name in names if name not in readable]
            if lost:
                report.unreadable.append((model._meta.verbose_name, str(obj), lost))
            if readable:
                with transaction.atomic():
                    obj.save(update_fields=readable)
                report.rows += 1
                report.values += sum(1 for name in readable if getattr(obj, name))
    return report
