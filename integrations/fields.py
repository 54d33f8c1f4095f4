"""Encrypted secret fields on top of `fernet_fields`, with its traps closed.

`fernet_fields` caches its keys per field, raises `InvalidToken` from deep inside a
queryset when a row was written with a lost key, encrypts the SQL of an expression
instead of a value, and lets `dumpdata` print plaintext. `SecretField` reads the
keys from settings on every use (so rotation and tests see the current keys),
returns an `UndecryptableSecret` marker instead of raising, refuses expressions, and
serialises as ciphertext.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import FieldError
from django.utils.encoding import force_bytes, force_str
from fernet_fields import EncryptedTextField
from fernet_fields.hkdf import derive_fernet_key

from portal.redaction import remember_secret

SERIALIZED_PREFIX = "fernet:"
_fernets: dict[tuple, MultiFernet] = {}


class UndecryptableSecret(str):
    """A stored secret that none of the configured keys can read."""

    def __new__(cls):
        return super().__new__(cls, "")

    def __bool__(self):
        return False

    def __repr__(self):
        return "<UndecryptableSecret>"


def current_fernet():
    keys = tuple(settings.FERNET_KEYS)
    if keys not in _fernets:
        _fernets[keys] = MultiFernet([Fernet(derive_fernet_key(key)) for key in keys])
    return _fernets[keys]


def is_undecryptable(value):
    return isinstance(value, UndecryptableSecret)


class SecretField(EncryptedTextField):
    """A write-only, encrypted text field; empty means "not set"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        # "Not set" is stored as NULL, never encrypted: a lost key then only hides real secrets.
        kwargs["null"] = True
        super().__init__(*args, **kwargs)

    @property
    def fernet(self):
        return current_fernet()

    def get_db_prep_save(self, value, connection):
        if hasattr(value, "resolve_expression"):
            raise FieldError(
                f"{self.model.__name__}.{self.name} is encrypted: save plain values one row at a time, "
                "never an expression, F() or bulk_update()."
            )
        if isinstance(value, UndecryptableSecret):
            raise FieldError(
                f"{self.model.__name__}.{self.name} could not be decrypted; enter the secret again "
                "instead of saving the unreadable value back."
            )
        if value in (None, ""):
            return None
        remember_secret(value)
        return super().get_db_prep_save(value, connection)

    def from_db_value(self, value, expression, connection, *args):
        if value is None:
            return ""
        try:
            plain = force_str(self.fernet.decrypt(bytes(value)))
        except InvalidToken:
            return UndecryptableSecret()
        remember_secret(plain)
        return plain

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        if not value:
            return ""
        return SERIALIZED_PREFIX + force_str(self.fernet.encrypt(force_bytes(value)))

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(SERIALIZED_PREFIX):
            try:
                return force_str(self.fernet.decrypt(force_bytes(value[len(SERIALIZED_PREFIX) :])))
            except InvalidToken:
                return UndecryptableSecret()
        return super().to_python(value)
