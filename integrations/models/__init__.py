from integrations.models.connections import Connection
from integrations.models.events import DingTalkEvent
from integrations.models.ops import Alert, AlertGate, ReviewRecord, SchemeVersion
from integrations.models.quota import MonthlyQuota, RateBudget
from integrations.models.runs import SyncRecord, SyncRun, Trigger
from integrations.models.schemes import FieldMapping, Scheme, ValueMap, ValueMapEntry

__all__ = ["Alert", "AlertGate", "Connection", "DingTalkEvent", "FieldMapping", "MonthlyQuota", "RateBudget", "ReviewRecord", "Scheme",
           "SchemeVersion", "SyncRecord", "SyncRun", "Trigger", "ValueMap", "ValueMapEntry"]
