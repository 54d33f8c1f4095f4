"""Links in DingTalk messages that open a Kingdee bill for the reader, through the portal's SSO.

The link goes to the SSO page with the bill's form and internal id; SSO logs the reader in as their own
Kingdee user (refusing anyone the identity map does not know) and the signed Kingdee link opens the bill.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse


def bill_url(form_id, bill_id, corp_id=""):
    """The portal's link that opens bill `bill_id` of `form_id` in Kingdee, or "" without a bill id."""
    if not form_id or not str(bill_id or "").isdigit():
        return ""
    query = {"form": form_id, "pkid": str(bill_id)}
    if corp_id:
        query["corpId"] = corp_id
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{reverse('sso:dingtalk')}?{urlencode(query)}"
