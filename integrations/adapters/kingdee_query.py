"""Kingdee as a source: ExecuteBillQuery of one form, by a change-time cursor with paging, or a snapshot.

Each row comes whole in `Listed.data` (keyed by its field keys), so the engine never fetches it again.
`window: "day"` adds the day to every key: a message target then sends a row at most once a day.
"""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from integrations.adapters.base import Listed, Param, SourceAdapter, register_source
from integrations.adapters.kingdee import quote

KINGDEE_TIME = "%Y-%m-%d %H:%M:%S"


def field_list(value):
    """FieldKeys as a list, from a list or a comma-separated text."""
    if isinstance(value, (list, tuple)):
        return [str(key).strip() for key in value if str(key).strip()]
    return [key.strip() for key in str(value or "").split(",") if key.strip()]


def rows_as_dicts(keys, rows):
    return [dict(zip(keys, row)) for row in rows]


def query_rows(client, form_id, keys, filter_string="", order_string="", page_size=2000):
    """Every row of a query as {field key: value}, page by page."""
    return rows_as_dicts(keys, client.query_all(form_id, keys, filter_string, order_string, page_size))


def both(*conditions):
    return " and ".join(f"({condition})" for condition in conditions if condition)


@register_source
class QuerySource(SourceAdapter):
    kind = "kingdee.query"
    label = _("Kingdee query (ExecuteBillQuery)")
    connection_kind = "kingdee"
    settings_schema = {
        "form_id": Param(_("form id"), required=True),
        "fields": Param(_("field keys, comma-separated"), required=True),
        "filter": Param(_("filter (FilterString)"), default=""),
        "key_fields": Param(_("key fields, comma-separated (default: FID)"), default="FID"),
        "cursor_field": Param(_("change-time field for the cursor; empty: a snapshot every run"),
                              default="FModifyDate"),
        "window": Param(_("de-duplication window added to the key (“day” or empty)"), default=""),
        "page_size": Param(_("rows per page (at most 10000)"), int, default=2000),
    }

    @classmethod
    def check(cls, params):
        problems = super().check(params)
        if isinstance(params, dict):
            if params.get("window") not in (None, "", "day"):
                problems.append(gettext("“window” must be “day” or empty."))
            size = params.get("page_size")
            if size is not None and (not isinstance(size, int) or not 1 <= size <= 10000):
                problems.append(gettext("“page_size” must be a whole number from 1 to 10000."))
        return problems

    @property
    def windowed(self):
        return bool(self.params.get("cursor_field"))

    @property
    def keys_of_row(self):
        return field_list(self.params.get("key_fields")) or ["FID"]

    @property
    def field_keys(self):
        keys = field_list(self.params["fields"])
        return keys + [key for key in self.keys_of_row if key not in keys]

    def list(self, since=None, until=None, recheck_since=None):
        cursor = self.params.get("cursor_field")
        conditions = [self.params.get("filter")]
        if cursor and since is not None:
            conditions.append(f"{cursor} >= {quote(_kingdee_time(since))}")
        if cursor and until is not None:
            conditions.append(f"{cursor} < {quote(_kingdee_time(until))}")
        order = f"{cursor} ASC" if cursor else ""
        for row in query_rows(self.client, self.params["form_id"], self.field_keys, both(*conditions), order,
                              self.params["page_size"]):
            yield Listed(self.key_of(row), True, since, data=row)

    def key_of(self, row):
        key = "/".join(str(row.get(field, "")) for field in self.keys_of_row)
        if self.params.get("window") == "day":
            key += f"@{timezone.localdate():%Y-%m-%d}"
        return key

    def fetch(self, key):
        """One row again by its key (a retry of a record whose data the ledger did not keep)."""
        values = key.split("@")[0].split("/")
        filters = [f"{field} = {quote(value)}" for field, value in zip(self.keys_of_row, values)]
        rows = query_rows(self.client, self.params["form_id"], self.field_keys, both(self.params.get("filter"),
                                                                                     *filters))
        if not rows:
            raise LookupError(gettext("No row of %(form)s has the key %(key)s any more.") % {
                "form": self.params["form_id"], "key": key})
        return rows[0]

    def summary(self, data):
        number = next((data[key] for key in ("FBillNo", "FNumber") if data.get(key)), "")
        return {"title": str(data.get("FName") or number)[:200], "number": str(number)[:64], "originator": "",
                "amount": None, "time": None}


def _kingdee_time(moment):
    if isinstance(moment, datetime) and timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.strftime(KINGDEE_TIME)
