"""Paging readiness: what across the account would keep a page from reaching a person.

Checked now and over the next 14 days: services without an escalation policy, steps
that reach nobody now, gaps in schedules that policies page, people a policy can page
who have no usable contact method, and hours of a person's local night they are on call
for (a warning: a small team's 24/7 rotation has them by design).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opsknight import clock
from opsknight.auth.principal import Principal
from opsknight.directory.models import ContactMethod, Service, TeamMember, User
from opsknight.escalation import engine
from opsknight.escalation.models import EscalationPolicy
from opsknight.escalation.preview import NIGHT_END, NIGHT_START, method_problem
from opsknight.schedules.models import Schedule
from opsknight.schedules.oncall import final_schedule

HORIZON = timedelta(days=14)
MAX_GAPS_LISTED = 10


@dataclass(frozen=True)
class Problem:
    kind: str
    severity: str  # error | warning
    message: str
    resource_type: str
    resource_id: str
    details: dict[str, Any] = field(default_factory=dict)


def _night_hours(start: datetime, end: datetime, zone: ZoneInfo) -> float:
    """Hours of [start, end) that fall in the night (22:00 to 07:00) of ``zone``."""
    total = 0.0
    day = start.astimezone(zone).date() - timedelta(days=1)
    while True:
        night_start = datetime.combine(day, NIGHT_START, zone)
        if night_start >= end:
            return total
        night_end = datetime.combine(day + timedelta(days=1), NIGHT_END, zone)
        overlap = min(end, night_end) - max(start, night_start)
        total += max(overlap.total_seconds(), 0) / 3600
        day += timedelta(days=1)


async def readiness(principal: Principal) -> tuple[datetime, list[Problem]]:
    principal.require("services:read")
    now = clock.now()
    problems: list[Problem] = []
    for service in await Service.filter(escalation_policy_id__isnull=True).order_by("name_key"):
        problems.append(Problem("service_without_policy", "error",
                                f"Service {service.name} has no escalation policy: its "
                                "incidents page no one", "service", service.id))  # fmt: skip

    paged_users: dict[str, set[str]] = {}  # user id → the policies that can page them
    schedule_policies: dict[str, set[str]] = {}
    policies = await EscalationPolicy.all().prefetch_related("steps").order_by("name")
    for policy in policies:
        copy = engine.snapshot(policy).stored()
        for number, step in enumerate(copy["steps"], start=1):
            reached, reason = await engine.recipients(step, now)
            if not reached:
                problems.append(Problem(
                    "step_reaches_nobody", "error",
                    f"Step {number} of {policy.name} reaches nobody now ({reason})",
                    "escalation_policy", policy.id,
                    {"step": number, "reason": reason,
                     "target": {"type": step["target_type"], "id": step["target_id"]}},
                ))  # fmt: skip
            for user in reached:
                paged_users.setdefault(user.id, set()).add(policy.id)
            if step["target_type"] == "TEAM":
                members = await TeamMember.filter(team_id=step["target_id"]).values_list(
                    "user_id", flat=True
                )
                for member_id in members:
                    paged_users.setdefault(str(member_id), set()).add(policy.id)
            elif step["target_type"] == "SCHEDULE":
                schedule_policies.setdefault(step["target_id"], set()).add(policy.id)

    until = now + HORIZON
    night: dict[tuple[str, str], float] = {}
    for schedule in await Schedule.filter(id__in=list(schedule_policies)).order_by("name_key"):
        rendered = await final_schedule(schedule, now, until)
        for start, end in rendered.gaps[:MAX_GAPS_LISTED]:
            problems.append(Problem(
                "schedule_gap", "error",
                f"{schedule.name} has nobody on call from {clock.isoformat_z(start)} to "
                f"{clock.isoformat_z(end)}", "schedule", schedule.id,
                {"start": clock.isoformat_z(start), "end": clock.isoformat_z(end)},
            ))  # fmt: skip
        for shift in rendered.shifts:
            for policy_id in schedule_policies[schedule.id]:
                paged_users.setdefault(shift.user_id, set()).add(policy_id)
            night.setdefault((schedule.id, shift.user_id), 0.0)
        zones = {u.id: u.time_zone for u in await User.filter(
            id__in={s.user_id for s in rendered.shifts})}  # fmt: skip
        for shift in rendered.shifts:
            hours = _night_hours(shift.start, shift.end, ZoneInfo(zones.get(shift.user_id, "UTC")))
            night[(schedule.id, shift.user_id)] += hours

    users = {u.id: u for u in await User.filter(id__in=list(paged_users))}
    methods: dict[str, list[ContactMethod]] = {}
    for method in await ContactMethod.filter(user_id__in=list(users)):
        methods.setdefault(method.user_id, []).append(method)  # type: ignore[attr-defined]
    for user_id in sorted(users, key=lambda i: users[i].name):
        user = users[user_id]
        if user.status != "ACTIVE":
            continue
        usable = [m for m in methods.get(user_id, []) if method_problem(m) is None]
        if not usable:
            problems.append(Problem(
                "no_contact_method", "error",
                f"{user.name} can be paged but has no usable contact method", "user", user.id,
                {"escalation_policy_ids": sorted(paged_users[user_id])},
            ))  # fmt: skip

    schedules = {s.id: s for s in await Schedule.filter(id__in=[k[0] for k in night])}
    for (schedule_id, user_id), hours in sorted(night.items()):
        if hours <= 0 or user_id not in users:
            continue
        user = users[user_id]
        problems.append(Problem(
            "night_pages", "warning",
            f"{user.name} is on call on {schedules[schedule_id].name} for {hours:.0f} h of "
            f"their local night (22:00 to 07:00 {user.time_zone}) in the next 14 days",
            "user", user.id,
            {"schedule_id": schedule_id, "hours": round(hours, 1), "time_zone": user.time_zone},
        ))  # fmt: skip
    return now, problems
