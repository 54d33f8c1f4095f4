from integrations.models.connections import Connection
from integrations.models.customers import FieldChange, MasterRule
from integrations.models.events import DingTalkEvent
from integrations.models.locks import TargetLock
from integrations.models.ops import Alert, AlertGate, ReviewRecord, SchemeVersion
from integrations.models.quota import MonthlyQuota, RateBudget
from integrations.models.reports import AlertState, Report, ReportRun
from integrations.models.runs import SyncRecord, SyncRun, Trigger
from integrations.models.schemes import DataCentre, FieldMapping, Scheme, ValueMap, ValueMapEntry
from integrations.models.tallies import RecordTally

__all__ = ["Alert", "AlertGate", "AlertState", "Connection", "DataCentre", "DingTalkEvent", "FieldChange", "FieldMapping", "MasterRule",
           "MonthlyQuota", "RateBudget", "RecordTally", "Report", "ReportRun", "ReviewRecord", "Scheme", "TargetLock",
           "SchemeVersion", "SyncRecord", "SyncRun", "Trigger", "ValueMap", "ValueMapEntry"]
