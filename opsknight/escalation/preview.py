"""The escalation dry-run: who an incident opening on a service at a given moment would
page, when and through what — computed by the engine's own rules.

The engine runs step 1 when an incident opens and each next step the step's delay later;
after the last step a repeating policy starts again at step 1 until its repeat limit,
then the escalation ends (EXHAUSTED; COMPLETED without repeats). The preview walks the
same path, evaluating each step's schedule at that step's own time (overrides
included), and plans each person's notifications with the same notification rules the
engine applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opsknight import clock, validation
from opsknight.auth.principal import Principal
from opsknight.directory import contact_methods
from opsknight.directory.models import ContactMethod, NotificationRule, Service, User
from opsknight.escalation import engine
from opsknight.escalation.models import EscalationPolicy
from opsknight.incidents import behaviours
from opsknight.incidents.states import URGENCIES
from opsknight.notifications import email
from opsknight.notifications.dispatch import planned_methods
from opsknight.notifications.notifier import NOTIFIERS
from opsknight.records import get_or_404

# A page between these local times wakes someone up.
NIGHT_START, NIGHT_END = time(22, 0), time(7, 0)


@dataclass(frozen=True)
class MethodPlan:
    method_id: str
    type: str
    address: str
    delay_minutes: int
    at: datetime
    usable: bool
    problem: str | None


@dataclass(frozen=True)
class Recipient:
    user_id: str
    name: str
    time_zone: str
    local_time: str
    at_night: bool
    reachable: bool
    methods: list[MethodPlan]


@dataclass(frozen=True)
class StepPlan:
    round: int
    step: int
    at: datetime
    target_type: str
    target_id: str
    recipients: list[Recipient]
    problem: str | None


@dataclass
class Preview:
    service_id: str
    policy_id: str | None
    policy_name: str | None
    at: datetime
    urgency: str
    steps: list[StepPlan] = field(default_factory=list)
    ends_at: datetime | None = None
    ends_as: str | None = None  # COMPLETED | EXHAUSTED; None without a policy


def at_night(moment: datetime, time_zone: str) -> tuple[str, bool]:
    """The moment as a person's wall-clock time, and whether it is night there."""
    local = moment.astimezone(ZoneInfo(time_zone))
    wall = local.time()
    return local.isoformat(timespec="minutes"), wall >= NIGHT_START or wall < NIGHT_END


def method_problem(method: ContactMethod) -> str | None:
    if method.type not in NOTIFIERS:
        return "unknown_type"
    if method.type == "email" and not email.configured():
        return "smtp_not_configured"
    return None


def runs(copy: dict[str, Any], start: datetime) -> list[tuple[int, int, datetime]]:
    """(round, step, time) of every step the engine would run for an incident opened at
    ``start`` that nobody acknowledges, and last (0, 0, end): the engine's own order."""
    steps = copy.get("steps") or []
    rounds = 1 + (int(copy.get("repeat_limit") or 0) if copy.get("repeat") else 0)
    planned, moment = [], start
    for round_ in range(1, rounds + 1):
        for number, step in enumerate(steps, start=1):
            planned.append((round_, number, moment))
            moment += clock.scaled(timedelta(minutes=int(step["delay_minutes"])))
    return [*planned, (0, 0, moment)]


async def _recipient(user: User, at: datetime, step: dict[str, Any], urgency: str) -> Recipient:
    methods = list(await ContactMethod.filter(user_id=user.id).order_by("created_at"))
    rules = list(await NotificationRule.filter(user_id=user.id).order_by("position"))
    plans = [
        MethodPlan(
            method.id, method.type, contact_methods.shown_address(method), delay,
            at + clock.scaled(timedelta(minutes=delay)), method_problem(method) is None,
            method_problem(method),
        )
        for method, delay in planned_methods(methods, step.get("channels"), rules, urgency)
    ]  # fmt: skip
    local, night = at_night(at, user.time_zone)
    return Recipient(user.id, user.name, user.time_zone, local, night,
                     any(p.usable for p in plans), plans)  # fmt: skip


async def plan_policy(copy: dict[str, Any], start: datetime, urgency: str) -> list[StepPlan]:
    """Every step the engine would run, with whom it would reach and how."""
    steps = copy.get("steps") or []
    planned = []
    for round_, number, moment in runs(copy, start)[:-1]:
        step = steps[number - 1]
        users, reason = await engine.recipients(step, moment)
        people = [await _recipient(user, moment, step, urgency) for user in users]
        if users and not any(p.reachable for p in people):
            reason = "no_contact_method"
        planned.append(StepPlan(round_, number, moment, step["target_type"], step["target_id"],
                                people, reason))  # fmt: skip
    return planned


async def escalation_preview(
    principal: Principal, service_id: str, at: datetime | None, urgency: str | None
) -> Preview:
    """What an incident opening on the service at ``at`` (default now) would page."""
    principal.require("services:read")
    service = await get_or_404(Service, service_id, "service")
    start = clock.now() if at is None else validation.aware(at, "at")
    if urgency is None:  # what a critical event opening at that moment would get
        urgency = behaviours.event_urgency(service, "HIGH", start)
    else:
        urgency = validation.choice(urgency.upper(), "urgency", URGENCIES)
    preview = Preview(service.id, None, None, start, urgency)
    policy_id = service.escalation_policy_id  # type: ignore[attr-defined]
    if policy_id is None:
        return preview
    policy = await EscalationPolicy.filter(id=policy_id).prefetch_related("steps").first()
    if policy is None:
        return preview
    copy = engine.snapshot(policy).stored()
    preview.policy_id, preview.policy_name = policy.id, policy.name
    preview.steps = await plan_policy(copy, start, urgency)
    preview.ends_at = runs(copy, start)[-1][2]
    preview.ends_as = "EXHAUSTED" if copy.get("repeat") else "COMPLETED"
    return preview
