"""The one doorway from integrations into sso: who a DingTalk user is in Kingdee, and their name.

The `identity` transform and the review list need the identity map; nothing else of `sso` is reached
from here, so the import contract can say exactly that.
"""

from sso.identities import dingtalk_userid_of_staff, kingdee_identity, name_of

__all__ = ["dingtalk_userid_of_staff", "kingdee_identity", "name_of"]
