from integrations.models.connections import Connection
from integrations.models.events import DingTalkEvent
from integrations.models.ops import Alert, AlertGate, ReviewRecord, SchemeVersion
from integrations.models.runs import SyncRecord, SyncRun, Trigger
from integrations.models.schemes import FieldMapping, Scheme, ValueMap, ValueMapEntry

__all__ = ["Alert", "AlertGate", "Connection", "DingTalkEvent", "FieldMapping", "ReviewRecord", "Scheme",
           "SchemeVersion", "SyncRecord", "SyncRun", "Trigger", "ValueMap", "ValueMapEntry"]

# Reports and stock alerts keep their models beside their code; importing them here registers them.
from integrations.reports.models import AlertState, Report, ReportRun  # noqa: E402,F401
