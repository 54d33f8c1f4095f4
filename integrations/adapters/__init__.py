"""Sources and targets of schemes, in a registry keyed by kind.

A scheme names a source kind (`dingtalk.approval`) and a target kind (`kingdee.save`);
the engine asks the registry for the classes and never branches on the kind itself, so a
new scenario (contacts → BD_Empinfo, Kingdee queries → robot messages) is a new adapter.
"""

from integrations.adapters.base import (
    SOURCES,
    TARGETS,
    Change,
    Listed,
    Outcome,
    SourceAdapter,
    TargetAdapter,
    Verdict,
    check_settings,
    register_source,
    register_target,
    source_choices,
    source_class,
    target_choices,
    target_class,
)
from integrations.adapters import contacts, crm, dingtalk, kingdee, kingdee_query, masterdata, messages  # noqa: E402,F401  (they register themselves)
from integrations.adapters import attendance, bill_upsert, yida  # noqa: E402,F401

__all__ = [
    "SOURCES", "TARGETS", "Change", "Listed", "Outcome", "SourceAdapter", "TargetAdapter", "Verdict", "check_settings",
    "register_source", "register_target", "source_choices", "source_class", "target_choices", "target_class",
]
