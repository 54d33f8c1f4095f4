"""Backfill (回补历史) before it starts: how many source records a date range covers, and what reading them
costs. Counting lists ids only (DingTalk approval listings count against the monthly quota too, so the
page says how many calls the count itself took) and never fetches a record's details."""

from dataclasses import dataclass

from integrations import engine
from integrations.clients.errors import RemoteError
from integrations.models import SyncRecord

CHUNK = 500


@dataclass
class Estimate:
    scheme: object
    listed: int = 0
    settled: int = 0
    list_calls: int = 0
    error: str = ""

    @property
    def to_read(self):
        """Records the backfill will fetch (one detail call each); settled ones are skipped without a call."""
        return self.listed - self.settled


def estimate(scheme, since, until):
    try:
        source = engine.build_source(scheme)
        keys = list(dict.fromkeys(source.keys(since, until)))
    except RemoteError as error:
        return Estimate(scheme, error=error.message)
    except engine.SchemeUnavailable as error:
        return Estimate(scheme, error=str(error))
    settled = 0
    for start in range(0, len(keys), CHUNK):
        settled += SyncRecord.objects.filter(scheme=scheme, source_key__in=keys[start:start + CHUNK],
                                             status__in=SyncRecord.SETTLED).count()
    calls = getattr(source.client, "calls", None) or {}
    return Estimate(scheme, listed=len(keys), settled=settled, list_calls=sum(calls.values()))

