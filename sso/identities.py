"""Who a DingTalk user is in Kingdee: the one look-up other apps may use (integrations' `identity` transform)."""

from sso.models import IdentityMap


def kingdee_identity(dingtalk_userid):
    """The active mapping of a DingTalk userid as {"username", "staff_number", "name"}, or None."""
    row = (
        IdentityMap.objects.filter(dingtalk_userid=dingtalk_userid, active=True)
        .values("kingdee_username", "kingdee_staff_number", "name")
        .first()
    )
    if row is None:
        return None
    return {"username": row["kingdee_username"], "staff_number": row["kingdee_staff_number"], "name": row["name"]}
