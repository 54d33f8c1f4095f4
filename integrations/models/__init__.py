from integrations.models.connections import Connection
from integrations.models.events import DingTalkEvent
from integrations.models.runs import SyncRecord, SyncRun, Trigger
from integrations.models.schemes import FieldMapping, Scheme, ValueMap, ValueMapEntry

__all__ = ["Connection", "DingTalkEvent", "FieldMapping", "Scheme", "SyncRecord", "SyncRun", "Trigger", "ValueMap",
           "ValueMapEntry"]
