"""The Kingdee third-party login link (`…/html5/index.aspx?ud=…`), built from plain values.

Standard library and the shared wire crypto only (`integrations.protocol`), so that the
link can be checked byte for byte against kingdee-webapi.md §8 without a database.
The `ud` value is a login credential: never log or store it.
"""

import base64
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import quote

from integrations.protocol import SIGNATURE_ALGORITHMS, kingdee_signeddata

FORM_TYPES = ("", "bill", "list", "wnreport", "sqlreport", "sysreport", "treereport", "movereport", "dynamicform")
FORM_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
LANDING_PATH = "html5/index.aspx"


@dataclass(frozen=True)
class DeepLink:
    """A Kingdee form to open right after login (`formid`, `formtype`, `pkid`)."""

    form_id: str
    form_type: str = "list"
    pk_id: str = ""

    def __post_init__(self):
        if not FORM_ID.match(self.form_id):
            raise ValueError(f"not a Kingdee form id: {self.form_id!r}")
        if self.form_type not in FORM_TYPES:
            raise ValueError(f"unknown Kingdee form type: {self.form_type!r}")


def permit_args(single_use):
    """`otherargs` carrying the link validity: permitcount 1 = usable once, 0 = reusable."""
    if single_use is None:
        return ""
    return "|{'permitcount':'" + ("1" if single_use else "0") + "'}"


def ud_payload(
    *, dbid, username, app_id, app_secret, timestamp, lcid=2052, algorithm="sha256", single_use=None, deep_link=None
):
    """The `ud` JSON object, fields in Kingdee's documented order (§8.2, §8.7).

    `single_use=None` leaves `otherargs` empty (links before the V3 patch); True/False
    sends `permitcount`. The signature covers the five parts of Kingdee's own text (§8.3);
    some community ports also sign permitcount, which Kingdee's text does not ask for.
    """
    if algorithm not in SIGNATURE_ALGORITHMS:
        raise ValueError(f"unsupported signature algorithm {algorithm!r}")
    if not (dbid and username and app_id and app_secret):
        raise ValueError("dbid, username, app id and app secret are all required")
    timestamp = str(int(timestamp))
    form = (deep_link.form_id, deep_link.form_type, deep_link.pk_id) if deep_link else ("", "", "")
    return {
        "dbid": dbid,
        "username": username,
        "appid": app_id,
        "signeddata": kingdee_signeddata(dbid, username, app_id, app_secret, timestamp, algorithm),
        "timestamp": timestamp,
        "lcid": str(lcid),
        "origintype": "SimPas",
        "entryrole": "",
        "formid": form[0],
        "formtype": form[1],
        "pkid": form[2],
        "otherargs": permit_args(single_use),
        "openmode": None,
    }


def encode_ud(payload):
    """Compact UTF-8 JSON (Chinese kept raw, as Kingdee's samples do), standard base64 with padding."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def login_url(base_url, ud):
    """`{base}html5/index.aspx?ud=…` with `+`, `/` and `=` percent-encoded so no proxy turns `+` into a space."""
    if not base_url.endswith("/"):
        base_url += "/"
    return f"{base_url}{LANDING_PATH}?ud={quote(ud, safe='')}"


def signed_login_url(base_url, *, now=None, **link):
    """The whole link for one click: a fresh timestamp unless `now` is given (tests)."""
    timestamp = int(time.time() if now is None else now)
    return login_url(base_url, encode_ud(ud_payload(timestamp=timestamp, **link)))
