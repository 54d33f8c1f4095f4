from portal.models import Heartbeat

WORKER = "worker"


def beat():
    Heartbeat.beat(WORKER)
    return "ok"
