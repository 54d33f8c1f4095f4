"""What one real source record would become, row by row. Reads the source; writes nothing anywhere."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext

from integrations import mapping
from integrations.clients import deadline
from integrations.clients.errors import RemoteError
from integrations.models import SyncRecord

LATEST_WINDOWS = (1, 7, 30, 120)  # days looked back for "the latest" record


@dataclass
class Preview:
    key: str = ""
    data: dict | None = None
    verdict: str = ""
    cells: list = field(default_factory=list)
    payload: dict | None = None
    error: str = ""

    @property
    def errors(self):
        return [cell for cell in self.cells if cell["error"]]


def latest_key(scheme, source):
    """The newest key the ledger knows, else the last finished key listed in a short recent window."""
    known = SyncRecord.objects.filter(scheme=scheme).order_by("-source_time", "-id")
    known = known.values_list("source_key", flat=True)
    if known.first():
        return known.first()
    now = timezone.now()
    for days in LATEST_WINDOWS:
        keys = [listed.key for listed in source.list(now - timedelta(days=days), now) if listed.finished is not False]
        if keys:
            return keys[-1]
    return ""


def preview(scheme, key=None):
    from integrations.engine import build_adapters
    from integrations.engine.booking import identity_lookup

    result = Preview(key=(key or "").strip())
    try:
        source, target = build_adapters(scheme)
        with deadline.within():  # a web request: never outlast the web server's timeout
            result.key = result.key or latest_key(scheme, source)
            if not result.key:
                result.error = gettext("The source has no record to preview yet.")
                return result
            result.data = source.fetch(result.key)
    except RemoteError as error:
        result.error = error.message
        return result
    except Exception as error:  # noqa: BLE001 (the page shows it rather than a 500)
        result.error = str(error)
        return result
    verdict = source.verdict(result.data)
    result.verdict = verdict.reason or gettext("Ready to write.")
    lookups = mapping.Lookups(value_maps=scheme.value_map_dicts(), identity=identity_lookup(scheme))
    built = mapping.build_payload(scheme.rows(), result.data, lookups)
    result.payload = target.with_dedupe_key(result.key, built.payload)
    result.cells = [
        {"target": cell.target, "source": cell.source, "source_value": cell.source_value, "value": cell.value,
         "error": cell.render_error(gettext) if cell.error else ""}
        for cell in built.cells
    ]
    return result
