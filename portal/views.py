from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from portal.models import Heartbeat
from portal.tasks import WORKER

# The heartbeat task runs every minute; allow for the scheduler's 30 s wake-ups.
WORKER_STALE_AFTER = 180


def database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def worker_status():
    age = Heartbeat.age_seconds(WORKER)
    if age is None:
        return {"status": "never_seen"}
    return {"status": "ok" if age <= WORKER_STALE_AFTER else "stale", "last_beat_seconds_ago": round(age)}


@never_cache
def healthz(request):
    if not database_ok():
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "worker": worker_status()})
