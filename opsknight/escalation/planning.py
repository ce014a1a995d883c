"""What an incident's escalation does next, as a pure function of the policy copy it
keeps and where it stands (like schedules/rotation.py for on-call): the engine loads the
incident, asks ``plan`` and writes the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class StepSnapshot:
    target_type: str
    target_id: str
    delay_minutes: int
    notify_team_lead_only: bool = False
    channels: tuple[str, ...] | None = None

    @classmethod
    def of(cls, stored: dict[str, Any]) -> StepSnapshot:
        """A step as ``as_dict`` writes it into the stored policy copy."""
        channels = stored.get("channels")
        return cls(
            target_type=stored["target_type"],
            target_id=stored["target_id"],
            delay_minutes=int(stored.get("delay_minutes") or 0),
            notify_team_lead_only=bool(stored.get("notify_team_lead_only")),
            channels=None if channels is None else tuple(channels),
        )

    def as_dict(self) -> dict[str, Any]:
        """The step as the notification code and the timeline take it."""
        return {
            "target_type": self.target_type,
            "target_id": self.target_id,
            "delay_minutes": self.delay_minutes,
            "notify_team_lead_only": self.notify_team_lead_only,
            "channels": None if self.channels is None else list(self.channels),
        }


@dataclass(frozen=True)
class PolicySnapshot:
    """The copy of its policy an incident took when it opened (stored as JSON: ``stored``
    writes it, ``of`` reads it back)."""

    steps: tuple[StepSnapshot, ...]
    repeat: bool = False
    repeat_limit: int = 0
    id: str | None = None
    name: str | None = None
    # Minutes between reminders while OPEN / while ACKNOWLEDGED; None: no reminders.
    reminder_minutes: int | None = None
    ack_reminder_minutes: int | None = None

    @classmethod
    def of(cls, copy: dict[str, Any] | None) -> PolicySnapshot:
        copy = copy or {}
        steps = tuple(StepSnapshot.of(step) for step in copy.get("steps") or [])
        return cls(
            steps,
            bool(copy.get("repeat")),
            int(copy.get("repeat_limit") or 0),
            copy.get("id"),
            copy.get("name"),
            copy.get("reminder_minutes"),
            copy.get("ack_reminder_minutes"),
        )

    def stored(self) -> dict[str, Any]:
        """The JSON the incident keeps (``policy_snapshot``), as ``of`` reads it."""
        return {
            "id": self.id,
            "name": self.name,
            "repeat": self.repeat,
            "repeat_limit": self.repeat_limit,
            "reminder_minutes": self.reminder_minutes,
            "ack_reminder_minutes": self.ack_reminder_minutes,
            "steps": [step.as_dict() for step in self.steps],
        }

    def reminder_every(self, status: str) -> int | None:
        """Minutes between reminders while the incident has ``status`` (None: none)."""
        if status == "OPEN":
            return self.reminder_minutes
        return self.ack_reminder_minutes if status == "ACKNOWLEDGED" else None


@dataclass(frozen=True)
class Standing:
    """Where an escalation stands: the incident's status, the step due (1-based; 0 when
    none follows), the round that step runs in (0-based) and how many steps have run."""

    status: str
    next_step: int
    round: int
    runs: int


@dataclass(frozen=True)
class Finish:
    """The escalation ends: COMPLETED (answered, or a policy that does not repeat ran
    out) or EXHAUSTED (a repeating policy ran all its rounds)."""

    status: str


@dataclass(frozen=True)
class RunStep:
    """Run step ``number`` (of round ``entry_round``, 1-based, as the timeline names it);
    then ``following`` is due after ``delay`` in round ``round`` (0 when none follows)."""

    number: int
    step: StepSnapshot
    following: int
    round: int
    runs: int
    delay: timedelta
    entry_round: int
    # The first step of a new escalation writes no `escalation` entry (`created` says it).
    announced: bool


def plan(policy: PolicySnapshot, standing: Standing) -> Finish | RunStep:
    """What the due step of an escalation does."""
    steps = policy.steps
    number = standing.next_step
    if standing.status != "OPEN" or not steps:
        return Finish("COMPLETED")
    if number <= 0 or number > len(steps):
        return Finish("EXHAUSTED" if policy.repeat else "COMPLETED")
    step = steps[number - 1]
    following, round_ = number + 1, standing.round
    if number == len(steps):
        if policy.repeat and round_ < policy.repeat_limit:
            following, round_ = 1, round_ + 1
        else:
            following = 0
    return RunStep(
        number=number,
        step=step,
        following=following,
        round=round_,
        runs=standing.runs + 1,
        delay=timedelta(minutes=step.delay_minutes),
        entry_round=standing.round + 1,
        announced=standing.runs > 0,
    )
