"""The escalation dry-run and the paging-readiness check."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from opsknight.escalation import preview, readiness


@strawberry.type
class PlannedNotification:
    method_id: strawberry.ID
    type: str
    address: str = strawberry.field(description="Masked where it holds a secret.")
    delay_minutes: int = strawberry.field(description="From the person's notification rules.")
    at: datetime
    usable: bool
    problem: str | None


@strawberry.type
class PlannedRecipient:
    user_id: strawberry.ID
    name: str
    time_zone: str
    local_time: str = strawberry.field(description="When the step pages them, their time.")
    at_night: bool = strawberry.field(description="Between 22:00 and 07:00 their time.")
    reachable: bool = strawberry.field(description="At least one usable contact method.")
    notifications: list[PlannedNotification]


@strawberry.type
class PlannedStep:
    round: int
    step: int
    at: datetime
    target_type: str
    target_id: strawberry.ID
    recipients: list[PlannedRecipient]
    problem: str | None = strawberry.field(
        description="Why it reaches nobody: nobody_on_call, user_disabled, "
        "no_contact_method, team_has_no_lead…"
    )


@strawberry.type
class EscalationPreview:
    service_id: strawberry.ID
    policy_id: strawberry.ID | None
    policy_name: str | None
    at: datetime
    urgency: str
    steps: list[PlannedStep]
    ends_at: datetime | None = strawberry.field(description="When the escalation would end.")
    ends_as: str | None = strawberry.field(description="COMPLETED or EXHAUSTED.")

    @classmethod
    def of(cls, plan: preview.Preview) -> EscalationPreview:
        return cls(
            service_id=strawberry.ID(plan.service_id),
            policy_id=strawberry.ID(plan.policy_id) if plan.policy_id else None,
            policy_name=plan.policy_name, at=plan.at, urgency=plan.urgency,
            steps=[
                PlannedStep(
                    round=s.round, step=s.step, at=s.at, target_type=s.target_type,
                    target_id=strawberry.ID(s.target_id), problem=s.problem,
                    recipients=[_recipient(r) for r in s.recipients],
                )
                for s in plan.steps
            ],
            ends_at=plan.ends_at, ends_as=plan.ends_as,
        )  # fmt: skip


def _recipient(person: preview.Recipient) -> PlannedRecipient:
    return PlannedRecipient(
        user_id=strawberry.ID(person.user_id), name=person.name, time_zone=person.time_zone,
        local_time=person.local_time, at_night=person.at_night, reachable=person.reachable,
        notifications=[
            PlannedNotification(
                method_id=strawberry.ID(m.method_id), type=m.type, address=m.address,
                delay_minutes=m.delay_minutes, at=m.at, usable=m.usable, problem=m.problem,
            )
            for m in person.methods
        ],
    )  # fmt: skip


@strawberry.type
class ReadinessProblem:
    kind: str = strawberry.field(
        description="service_without_policy, step_reaches_nobody, schedule_gap, "
        "no_contact_method or night_pages."
    )
    severity: str = strawberry.field(description="error or warning.")
    message: str
    resource_type: str
    resource_id: strawberry.ID
    details: JSON

    @classmethod
    def of(cls, problem: readiness.Problem) -> ReadinessProblem:
        return cls(
            kind=problem.kind, severity=problem.severity, message=problem.message,
            resource_type=problem.resource_type, resource_id=strawberry.ID(problem.resource_id),
            details=cast(JSON, problem.details),
        )  # fmt: skip


@strawberry.type
class Readiness:
    checked_at: datetime
    ready: bool = strawberry.field(description="No errors (warnings allowed).")
    problems: list[ReadinessProblem]

    @classmethod
    def of(cls, checked_at: datetime, problems: list[Any]) -> Readiness:
        return cls(
            checked_at=checked_at,
            ready=not any(p.severity == "error" for p in problems),
            problems=[ReadinessProblem.of(p) for p in problems],
        )
