"""The one doorway from integrations into sso: who a DingTalk user is in Kingdee, and their name.

User ids are per DingTalk organisation: both take the DingTalk connection the user id came from
(`kingdee_identity(userid, connection)`, `name_of(userid, connection)`).

The `identity` transform and the review list need the identity map; nothing else of `sso` is reached
from here, so the import contract can say exactly that.
"""

from sso.identities import kingdee_identity, name_of

__all__ = ["kingdee_identity", "name_of"]
