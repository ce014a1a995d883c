"""Escalation policies: ordered steps that say whom to notify and how long to wait."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from opsknight import clock, validation
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.batch import group_in_key_order, rows_by_ids
from opsknight.directory.models import Team, User
from opsknight.errors import ValidationFailed
from opsknight.escalation.models import EscalationPolicy, EscalationStep
from opsknight.inputs import UNSET, Unset, or_none
from opsknight.paging import Page, page_of
from opsknight.records import get_or_404, matching_name
from opsknight.schedules.models import Schedule
from opsknight.transaction import atomic
from opsknight.unique import unique_field

TARGET_TYPES = ("USER", "TEAM", "SCHEDULE")
CHANNELS = ("EMAIL", "SMS", "PUSH", "SLACK", "WEBHOOK", "WHATSAPP")
MAX_STEPS = 20
_TARGET_MODELS: dict[str, Any] = {"USER": User, "TEAM": Team, "SCHEDULE": Schedule}


async def policies_by_ids(policy_ids: list[str]) -> list[EscalationPolicy | None]:
    """Batch load for DataLoaders, in key order."""
    return await rows_by_ids(EscalationPolicy, policy_ids)


async def steps_by_policy(policy_ids: list[str]) -> list[list[EscalationStep]]:
    rows = await EscalationStep.filter(policy_id__in=policy_ids).order_by("position")
    return group_in_key_order(list(rows), "policy_id", policy_ids)


async def get_policy(principal: Principal, policy_id: str) -> EscalationPolicy:
    principal.require("escalation_policies:read")
    return await get_or_404(EscalationPolicy, policy_id, "escalation policy")


async def list_policies(
    principal: Principal, *, q: str | None, limit: int | None, offset: int | None
) -> Page[EscalationPolicy]:
    principal.require("escalation_policies:read")
    query = matching_name(EscalationPolicy.all(), q)
    return await page_of(query, limit, offset, "name_key", "id")


async def _steps(raw: Any) -> list[EscalationStep]:
    """Checked, unsaved steps; each target must exist now."""
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed(
            "steps must list at least one step", field="steps", reason="required"
        )
    if len(raw) > MAX_STEPS:
        raise ValidationFailed(
            f"a policy has at most {MAX_STEPS} steps", field="steps", reason="too_many"
        )
    steps = []
    for i, item in enumerate(raw):
        at = f"steps[{i}]"
        validation.json_object(item, at)
        kind = validation.choice(item.get("target_type"), f"{at}.target_type", TARGET_TYPES)
        target_id = item.get("target_id")
        found = (
            await _TARGET_MODELS[kind].get_or_none(id=target_id)
            if isinstance(target_id, str)
            else None
        )
        validation.referenced(found, str(target_id), f"{at}.target_id", kind.lower())
        delay = validation.number(
            item.get("delay_minutes", 0) or 0, f"{at}.delay_minutes", minimum=0, maximum=1440
        )
        lead_only = bool(item.get("notify_team_lead_only"))
        if lead_only and kind != "TEAM":
            raise ValidationFailed(
                "notify_team_lead_only applies to TEAM targets only",
                field=f"{at}.notify_team_lead_only",
            )
        channels = item.get("channels")
        if channels is not None:
            for channel in channels:
                validation.choice(channel, f"{at}.channels", CHANNELS)
            channels = list(dict.fromkeys(channels))
        steps.append(
            EscalationStep(
                position=i + 1,
                target_type=kind,
                target_id=target_id,
                delay_minutes=delay,
                notify_team_lead_only=lead_only,
                channels=channels,
            )
        )
    return steps


@dataclass(frozen=True)
class PolicyFields:
    """What creating or changing a policy takes (UNSET: not sent). ``steps`` are checked
    one by one (errors name ``steps[i]``); when sent, they replace all steps."""

    name: str | Unset | None = UNSET
    description: str | Unset | None = UNSET
    repeat: bool | Unset | None = UNSET
    repeat_limit: int | Unset | None = UNSET
    reminder_minutes: int | Unset | None = UNSET
    ack_reminder_minutes: int | Unset | None = UNSET
    steps: list[Any] | Unset | None = UNSET


def _apply(policy: EscalationPolicy, fields: PolicyFields) -> list[str]:
    changed = []
    if fields.name is not UNSET:
        policy.name = validation.text(fields.name, "name", max_length=100)
        policy.name_key = policy.name.lower()
        changed += ["name", "name_key"]
    if fields.description is not UNSET:
        policy.description = validation.optional_text(  # type: ignore[assignment]
            fields.description, "description", max_length=5000
        )
        changed.append("description")
    if fields.repeat is not UNSET and fields.repeat is not None:
        policy.repeat = bool(fields.repeat)
        changed.append("repeat")
    if fields.repeat_limit is not UNSET and fields.repeat_limit is not None:
        policy.repeat_limit = validation.number(
            fields.repeat_limit, "repeat_limit", minimum=0, maximum=10
        )
        changed.append("repeat_limit")
    for name, maximum in (("reminder_minutes", 1440), ("ack_reminder_minutes", 10080)):
        value = getattr(fields, name)
        if value is not UNSET:
            if value is not None:
                value = validation.number(value, name, minimum=1, maximum=maximum)
            setattr(policy, name, value)
            changed.append(name)
    return changed


async def _save(
    policy: EscalationPolicy, changed: list[str] | None, steps: list[EscalationStep] | None
) -> None:
    async with atomic(), unique_field("name", policy.name):
        if changed is None:
            await policy.save()
        else:
            await policy.save(update_fields=[*changed, "updated_at"])
        if steps is not None:
            await EscalationStep.filter(policy_id=policy.id).delete()
            for step in steps:
                step.policy = policy
            await EscalationStep.bulk_create(steps)


AUDITED = ("name", "description", "repeat", "repeat_limit", "reminder_minutes",
           "ack_reminder_minutes")  # fmt: skip
_STEP_FIELDS = ("target_type", "target_id", "delay_minutes", "notify_team_lead_only", "channels")


async def audited(policy: EscalationPolicy) -> dict[str, Any]:
    steps = await EscalationStep.filter(policy_id=policy.id).order_by("position")
    return {**audit.snapshot(policy, AUDITED),
            "steps": [audit.snapshot(step, _STEP_FIELDS) for step in steps]}  # fmt: skip


async def create_policy(principal: Principal, fields: PolicyFields) -> EscalationPolicy:
    principal.require("escalation_policies:write")
    now = clock.now()
    policy = EscalationPolicy(created_at=now, updated_at=now)
    _apply(policy, replace(fields, name=or_none(fields.name)))  # a name is required
    steps = await _steps(or_none(fields.steps))
    async with atomic():
        await _save(policy, None, steps)
        await audit.record(principal, "escalation_policy.created", "escalation_policy",
                           policy.id, None, await audited(policy))  # fmt: skip
    return policy


async def update_policy(
    principal: Principal, policy_id: str, fields: PolicyFields
) -> EscalationPolicy:
    """Change a policy; ``steps``, when given, replace all steps. Incidents already
    escalating keep the copy of the policy they took when they opened."""
    principal.require("escalation_policies:write")
    policy = await get_or_404(EscalationPolicy, policy_id, "escalation policy")
    before = await audited(policy)
    changed = _apply(policy, fields)
    sent_steps = or_none(fields.steps)
    steps = None if sent_steps is None else await _steps(sent_steps)
    policy.updated_at = clock.now()
    async with atomic():
        await _save(policy, changed, steps)
        await audit.record(principal, "escalation_policy.updated", "escalation_policy",
                           policy.id, before, await audited(policy))  # fmt: skip
    return policy


async def delete_policy(principal: Principal, policy_id: str) -> str:
    """Delete a policy; services that used it are left without one."""
    principal.require("escalation_policies:write")
    policy = await get_or_404(EscalationPolicy, policy_id, "escalation policy")
    async with atomic():
        before = await audited(policy)
        await policy.delete()
        await audit.record(principal, "escalation_policy.deleted", "escalation_policy",
                           policy.id, before, None)  # fmt: skip
    return policy_id
