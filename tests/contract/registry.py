"""The adapters the contract tests check, as cases: an adapter kind, its settings and an in-process fake of its
remote (the client's methods, answering in the remote's real payload shapes).

Each branch adds its adapters in a module of its own, `tests/contract/cases_<name>.py`, that calls `source(…)`,
`target(…)` or `two_way(…)` at import; every such module is found here, so no one edits a shared list.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

SOURCES, TARGETS, TWO_WAY = [], [], []


@dataclass
class SourceCase:
    kind: str
    params: dict
    client: Callable[[], object]  # a fresh fake client holding a few records
    window: tuple[datetime, datetime]  # a listing window that holds them
    unknown_key: str = "no-such-key"  # fetching it fails with a RemoteError
    name: str = ""


@dataclass
class TargetCase:
    kind: str
    params: dict
    client: Callable[[], object]
    payloads: Callable[[], dict]  # {key: payload} the target accepts
    dedupe_field: str = ""
    rejected: Callable[[], tuple] | None = None  # (key, payload) the target refuses with its own message
    # Master data: the payload with one field changed, as the source would send it next.
    changed: Callable[[dict], dict] | None = None
    name: str = ""


@dataclass
class TwoWayCase:
    """A two-way pair: how to read one record's comparable fields on each side."""

    name: str
    source_fields: Callable[[dict], dict]  # source data → {field: value}
    target_fields: Callable[[dict], dict]  # Outcome.state → {field: value}
    records: list = field(default_factory=list)  # [(source data, target state)] of the same record, in sync


def source(case):
    SOURCES.append(case)
    return case


def target(case):
    TARGETS.append(case)
    return case


def two_way(case):
    TWO_WAY.append(case)
    return case


def load():
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("cases_"):
            importlib.import_module(f"tests.contract.{module.name}")


load()
