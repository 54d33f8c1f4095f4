from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.fields import is_undecryptable
from integrations.models import Connection


def checked_port(value):
    """The URL unchanged, or a ValidationError naming a port no server can listen on (80800, 0, "abc")."""
    if not value:
        return value
    try:
        port = urlsplit(value).port
    except ValueError:
        port = 0
    if port == 0:
        raise forms.ValidationError(_("The port in this address must be a number from 1 to 65535."))
    return value


def secret_status(value):
    if is_undecryptable(value):
        return _("Stored value cannot be decrypted with the current FERNET_KEYS: enter it again.")
    return _("Set. Leave empty to keep it.") if value else _("Not set.")


def clear_checkbox():
    return forms.BooleanField(label=_("clear the stored value"), required=False)


class SecretFormMixin:
    """Secrets are write-only: never rendered, an empty input keeps the stored value, a checkbox clears it."""

    secret_fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            if name in self.fields:
                self.fields[name] = self._secret_input(self.fields[name], getattr(self.instance, name))
                self.initial[name] = ""

    @staticmethod
    def _secret_input(model_field, stored):
        return forms.CharField(
            label=model_field.label,
            required=False,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=secret_status(stored),
        )

    def _clean_fields(self):
        super()._clean_fields()
        for name in self.secret_fields:
            if name in self.fields:
                self._resolve_secret(name)

    def _resolve_secret(self, name):
        stored = getattr(self.instance, name)
        if self.cleaned_data.get(f"clear_{name}"):
            self.cleaned_data[name] = ""
        elif self.cleaned_data.get(name):
            return
        elif is_undecryptable(stored):
            self.add_error(name, _("The stored value is unreadable (its key is lost): enter it again or clear it."))
        else:
            self.cleaned_data[name] = stored


class ConnectionForm(SecretFormMixin, forms.ModelForm):
    secret_fields = Connection.SECRET_FIELDS

    clear_app_secret = clear_checkbox()
    clear_password = clear_checkbox()
    clear_callback_token = clear_checkbox()
    clear_callback_aes_key = clear_checkbox()
    clear_robot_token = clear_checkbox()
    clear_robot_secret = clear_checkbox()
    clear_yida_system_token = clear_checkbox()

    class Meta:
        model = Connection
        fields = "__all__"

    def clean_base_url(self):
        return checked_port(self.cleaned_data.get("base_url"))

    def clean_api_base_url(self):
        return checked_port(self.cleaned_data.get("api_base_url"))
