"""The incident state machine (SPEC §5.3)."""

from __future__ import annotations

from enum import Enum


# Member names are the stored and wire values; GraphQL wraps these (graphql/types/enums.py).
class IncidentStatus(Enum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"
    SNOOZED = "SNOOZED"
    SUPPRESSED = "SUPPRESSED"


class Urgency(Enum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class Priority(Enum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"


STATUSES = tuple(s.value for s in IncidentStatus)
ACTIVE = tuple(s for s in STATUSES if s != "RESOLVED")
URGENCIES = tuple(u.value for u in Urgency)
PRIORITIES = tuple(p.value for p in Priority)

ALLOWED: dict[str, frozenset[str]] = {
    "OPEN": frozenset({"ACKNOWLEDGED", "RESOLVED", "SNOOZED", "SUPPRESSED"}),
    "ACKNOWLEDGED": frozenset({"OPEN", "RESOLVED", "SNOOZED"}),
    "SNOOZED": frozenset({"OPEN", "ACKNOWLEDGED", "RESOLVED"}),
    "SUPPRESSED": frozenset({"OPEN", "RESOLVED"}),
    "RESOLVED": frozenset({"OPEN"}),
}

# The timeline entry a transition writes; moves into OPEN are named after where they came from.
_INTO = {
    "ACKNOWLEDGED": "acknowledged",
    "RESOLVED": "resolved",
    "SNOOZED": "snoozed",
    "SUPPRESSED": "suppressed",
}
_BACK_TO_OPEN = {
    "ACKNOWLEDGED": "unacknowledged",
    "RESOLVED": "reopened",
    "SNOOZED": "unsnoozed",
    "SUPPRESSED": "unsuppressed",
}


def can_move(current: str, target: str) -> bool:
    return target in ALLOWED[current]


def timeline_type(current: str, target: str) -> str:
    """The timeline entry type for the move ``current`` → ``target``."""
    if target == "OPEN":
        return _BACK_TO_OPEN[current]
    return _INTO[target]
