from integrations.models.connections import Connection
from integrations.models.events import DingTalkEvent
from integrations.models.ops import Alert, AlertGate, ReviewRecord, SchemeVersion
from integrations.models.reports import AlertState, Report, ReportRun
from integrations.models.runs import SyncRecord, SyncRun, Trigger
from integrations.models.schemes import FieldMapping, Scheme, ValueMap, ValueMapEntry

__all__ = ["Alert", "AlertGate", "AlertState", "Report", "ReportRun", "Connection", "DingTalkEvent", "FieldMapping", "ReviewRecord", "Scheme",
           "SchemeVersion", "SyncRecord", "SyncRun", "Trigger", "ValueMap", "ValueMapEntry"]
