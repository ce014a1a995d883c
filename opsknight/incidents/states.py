"""The incident state machine (SPEC §5.3)."""

from __future__ import annotations

STATUSES = ("OPEN", "ACKNOWLEDGED", "RESOLVED", "SNOOZED", "SUPPRESSED")
ACTIVE = ("OPEN", "ACKNOWLEDGED", "SNOOZED", "SUPPRESSED")
URGENCIES = ("HIGH", "MEDIUM", "LOW")
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")

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
