"""Demo set-up: Kingdee SSO against the sandbox, from the credentials `sandbox_seed --json` prints."""

from integrations.models import Connection
from sso.models import KingdeeSSOSettings

DEMO_FORMS = "AP_PAYBILL:list\nER_ExpReimbursement:list"


def setup_demo_sso(kingdee_connection, credentials, dingtalk_connection=None):
    """Create or update the SSO settings of `kingdee_connection` from the seed's `kingdee_sso` object.

    `credentials` is {"app_id", "app_secret", "acct_id"} (optionally "algorithm", "link_mode");
    the DingTalk connection defaults to the first enabled DingTalk app connection.
    """
    dingtalk_connection = dingtalk_connection or (
        Connection.objects.filter(kind=Connection.Kind.DINGTALK, enabled=True).order_by("pk").first()
    )
    if dingtalk_connection is None:
        raise ValueError("Create the DingTalk connection before the SSO settings.")
    sso = KingdeeSSOSettings.objects.filter(kingdee=kingdee_connection).first() or KingdeeSSOSettings(
        kingdee=kingdee_connection
    )
    sso.dingtalk = dingtalk_connection
    sso.enabled = True
    sso.app_id = credentials["app_id"]
    sso.app_secret = credentials["app_secret"]
    sso.dbid = credentials.get("acct_id") or kingdee_connection.acct_id
    sso.algorithm = credentials.get("algorithm", KingdeeSSOSettings.Algorithm.SHA256)
    sso.link_mode = credentials.get("link_mode", KingdeeSSOSettings.LinkMode.SINGLE_USE)
    sso.allowed_forms = DEMO_FORMS
    sso.full_clean()
    sso.save()
    return sso
