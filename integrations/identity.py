"""The one doorway from integrations into sso: who a DingTalk user is in Kingdee, and their name.

User ids are per DingTalk organisation: lookups take the DingTalk connection the user id came from
(`kingdee_identity(userid, connection)`, `name_of(userid, connection)`).

The `identity` transform and the review list need the identity map, and the org sync keeps it in step with
DingTalk (a joiner's row, a leaver's row disabled); nothing else of `sso` is reached from here, so the import
contract can say exactly that.
"""

from sso.identities import dingtalk_userid_of_staff, join, kingdee_identity, name_of, set_active

__all__ = ["dingtalk_userid_of_staff", "join", "kingdee_identity", "name_of", "set_active"]
