"""Importing the set-up of the tool being replaced from one JSON or YAML file: users,
teams, schedules, escalation policies, and services with their integration keys.

Objects are matched by what people call them (a user's email, the name of a team,
schedule, policy or service; an integration's key), so running the same file again
changes nothing. Everything is written through the same checks as the API, in one
transaction: a file with a problem anywhere writes nothing. A dry run does all of it and
rolls back, so it reports exactly what a real run would do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from opsknight import inputs, validation
from opsknight.audit import service as audit
from opsknight.auth.principal import Principal
from opsknight.directory import services, teams, users
from opsknight.directory.models import Integration, Service, Team, TeamMember, User
from opsknight.errors import OpsKnightError, ValidationFailed
from opsknight.escalation import policies
from opsknight.escalation.models import EscalationPolicy
from opsknight.schedules import service as schedules
from opsknight.schedules.models import Schedule
from opsknight.transaction import atomic

# The keys each kind of object may have in the file.
_KEYS = {
    "users": {"name", "email", "role", "time_zone"},
    "teams": {"name", "description", "members"},
    "schedules": {"name", "description", "time_zone", "team", "layers"},
    "escalation_policies": {"name", "description", "repeat", "repeat_limit",
                            "reminder_minutes", "ack_reminder_minutes", "steps"},
    "services": {"name", "description", "team", "escalation_policy", "region", "sla_tier",
                 "runbook_url", "acknowledgement_timeout", "auto_resolve_timeout",
                 "urgency_rule", "support_hours", "shadow", "integrations"},
}  # fmt: skip
_LAYER_KEYS = {"name", "rotation_type", "handoff_start", "rotation_length_hours", "users",
               "restrictions", "end"}  # fmt: skip
_STEP_KEYS = {"delay_minutes", "user", "schedule", "team", "notify_team_lead_only", "channels"}
_INTEGRATION_KEYS = {"name", "type", "key"}
_MEMBER_KEYS = {"email", "role"}


@dataclass(frozen=True)
class Change:
    """What the import does to one object: create, update (with the fields) or none."""

    action: str  # create | update | unchanged
    kind: str
    name: str
    fields: list[str] = field(default_factory=list)


class _Unchanged(Exception):
    """Rolls back an update that changed nothing."""


class _DryRun(Exception):
    """Rolls back a dry run once its changes are known."""


def _checked_keys(item: Any, allowed: set[str], at: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValidationFailed(f"{at} must be an object", field=at, reason="invalid_type")
    for key in item:
        if key not in allowed:
            raise validation.unknown_name(str(key), sorted(allowed), field=f"{at}.{key}",
                                          what="field")  # fmt: skip
    return item


def _list(document: dict[str, Any], kind: str) -> list[Any]:
    items = document.get(kind) or []
    if not isinstance(items, list):
        raise ValidationFailed(f"{kind} must be a list", field=kind, reason="invalid_type")
    return items


async def _at(path: str, work: Awaitable[Any]) -> Any:
    """``work``, with any failure's field named by its place in the file."""
    try:
        return await work
    except OpsKnightError as exc:
        where = exc.details.get("field")
        exc.details["field"] = f"{path}.{where}" if where else path
        exc.message = f"{path}: {exc.message}"
        exc.args = (exc.message,)
        raise


# The typed input of the use case an item of the file goes through.
FieldsT = TypeVar("FieldsT")


async def _upsert(
    principal: Principal,
    fields: FieldsT,
    kind: str,
    name: str,
    existing: Any,
    create: Callable[[Principal, FieldsT], Awaitable[Any]],
    update: Callable[[Principal, str, FieldsT], Awaitable[Any]],
    state: Callable[[Any], Awaitable[dict[str, Any]]],
) -> tuple[Any, Change]:
    """Create the object through the API's own function, or update it and keep the update
    only if it changed anything."""
    if existing is None:
        return await create(principal, fields), Change("create", kind, name)
    before = await state(existing)
    try:
        async with atomic():
            row = await update(principal, existing.id, fields)
            after = await state(row)
            if after == before:
                raise _Unchanged
    except _Unchanged:
        return existing, Change("unchanged", kind, name)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return row, Change("update", kind, name, changed)


@dataclass
class _Importer:
    principal: Principal
    changes: list[Change] = field(default_factory=list)

    async def user_id(self, email: Any, at: str) -> str:
        found = await User.get_or_none(email_key=str(email).lower()) if email else None
        if found is None:
            raise ValidationFailed(
                f"{at}: no user with email {email!r} in the file or in OpsKnight", field=at,
                reason="not_found",
            )  # fmt: skip
        return found.id

    async def named(self, model: Any, name: Any, what: str, at: str) -> str:
        found = await model.get_or_none(name_key=str(name).lower()) if name else None
        if found is None:
            raise ValidationFailed(
                f"{at}: no {what} named {name!r} in the file or in OpsKnight", field=at,
                reason="not_found",
            )  # fmt: skip
        return str(found.id)

    def note(self, change: Change) -> None:
        self.changes.append(change)

    async def users(self, items: list[Any]) -> None:
        for i, raw in enumerate(items):
            at = f"users[{i}]"
            item = _checked_keys(raw, _KEYS["users"], at)
            fields: dict[str, Any] = {
                k: item[k] for k in ("name", "email", "time_zone") if k in item
            }
            if "role" in item:
                fields["role"] = str(item["role"]).upper()
            email = validation.email(item.get("email"), f"{at}.email")
            existing = await User.get_or_none(email_key=email.lower())
            if existing is None:
                fields.setdefault("role", "RESPONDER")  # people imported to be on call
            _, change = await _at(at, _upsert(
                self.principal, inputs.of(users.UserFields, fields), "user", email, existing,
                users.create_user, users.update_user,
                partial(_state, fields=users.AUDITED),
            ))  # fmt: skip
            self.note(change)

    async def teams(self, items: list[Any]) -> None:
        for i, raw in enumerate(items):
            at = f"teams[{i}]"
            item = _checked_keys(raw, _KEYS["teams"], at)
            fields = inputs.of(
                teams.TeamFields, {k: item[k] for k in ("name", "description") if k in item}
            )
            existing = await Team.get_or_none(name_key=str(item.get("name", "")).lower())
            team, change = await _at(at, _upsert(
                self.principal, fields, "team", str(item.get("name")), existing,
                teams.create_team, teams.update_team,
                partial(_state, fields=("name", "description")),
            ))  # fmt: skip
            added = []
            for j, member in enumerate(item.get("members") or []):
                where = f"{at}.members[{j}]"
                member = _checked_keys(member, _MEMBER_KEYS, where)
                user_id = await self.user_id(member.get("email"), f"{where}.email")
                if await TeamMember.exists(team_id=team.id, user_id=user_id):
                    continue
                body = teams.MemberFields(
                    user_id=user_id, role=str(member.get("role") or "MEMBER").upper()
                )
                await _at(where, teams.add_member(self.principal, team.id, body))
                added.append(str(member.get("email")))
            if added and change.action == "unchanged":
                change = Change("update", "team", change.name, ["members"])
            self.note(change)

    async def schedules(self, items: list[Any]) -> None:
        for i, raw in enumerate(items):
            at = f"schedules[{i}]"
            item = _checked_keys(raw, _KEYS["schedules"], at)
            fields: dict[str, Any] = {
                k: item[k] for k in ("name", "description", "time_zone") if k in item
            }
            if item.get("team") is not None:
                fields["team_id"] = await self.named(Team, item["team"], "team", f"{at}.team")
            layers = []
            for j, layer in enumerate(item.get("layers") or []):
                where = f"{at}.layers[{j}]"
                layer = dict(_checked_keys(layer, _LAYER_KEYS, where))
                layer["users"] = [
                    await self.user_id(email, f"{where}.users[{k}]")
                    for k, email in enumerate(layer.get("users") or [])
                ]
                layers.append(layer)
            fields["layers"] = layers
            existing = await Schedule.get_or_none(name_key=str(item.get("name", "")).lower())
            _, change = await _at(at, _upsert(
                self.principal, inputs.of(schedules.ScheduleFields, fields), "schedule",
                str(item.get("name")), existing,
                schedules.create_schedule, schedules.update_schedule,
                schedules.audited,
            ))  # fmt: skip
            self.note(change)

    async def policies(self, items: list[Any]) -> None:
        for i, raw in enumerate(items):
            at = f"escalation_policies[{i}]"
            item = _checked_keys(raw, _KEYS["escalation_policies"], at)
            fields = {k: v for k, v in item.items() if k != "steps"}
            steps = []
            for j, step in enumerate(item.get("steps") or []):
                where = f"{at}.steps[{j}]"
                step = _checked_keys(step, _STEP_KEYS, where)
                targets = [k for k in ("user", "schedule", "team") if step.get(k) is not None]
                if len(targets) != 1:
                    raise ValidationFailed(
                        f"{where}: name exactly one target: user (an email), schedule or team",
                        field=where,
                    )
                kind = targets[0]
                if kind == "user":
                    target_id = await self.user_id(step["user"], f"{where}.user")
                else:
                    model = Schedule if kind == "schedule" else Team
                    target_id = await self.named(model, step[kind], kind, f"{where}.{kind}")
                wanted: dict[str, Any] = {"target_type": kind.upper(), "target_id": target_id}
                for name in ("delay_minutes", "notify_team_lead_only", "channels"):
                    if name in step:
                        wanted[name] = step[name]
                steps.append(wanted)
            fields["steps"] = steps
            existing = await EscalationPolicy.get_or_none(
                name_key=str(item.get("name", "")).lower()
            )
            _, change = await _at(at, _upsert(
                self.principal, inputs.of(policies.PolicyFields, fields), "escalation_policy",
                str(item.get("name")), existing,
                policies.create_policy, policies.update_policy,
                policies.audited,
            ))  # fmt: skip
            self.note(change)

    async def services(self, items: list[Any]) -> None:
        for i, raw in enumerate(items):
            at = f"services[{i}]"
            item = _checked_keys(raw, _KEYS["services"], at)
            fields = {k: v for k, v in item.items()
                      if k not in ("team", "escalation_policy", "integrations")}  # fmt: skip
            if item.get("team") is not None:
                fields["team_id"] = await self.named(Team, item["team"], "team", f"{at}.team")
            if item.get("escalation_policy") is not None:
                fields["escalation_policy_id"] = await self.named(
                    EscalationPolicy, item["escalation_policy"], "escalation policy",
                    f"{at}.escalation_policy",
                )  # fmt: skip
            existing = await Service.get_or_none(name_key=str(item.get("name", "")).lower())
            service, change = await _at(at, _upsert(
                self.principal, inputs.of(services.ServiceFields, fields), "service",
                str(item.get("name")), existing,
                services.create_service, services.update_service,
                partial(_state, fields=services.AUDITED),
            ))  # fmt: skip
            self.note(change)
            for j, integration in enumerate(item.get("integrations") or []):
                await self.integration(service, integration, f"{at}.integrations[{j}]")

    async def integration(self, service: Service, raw: Any, at: str) -> None:
        item = _checked_keys(raw, _INTEGRATION_KEYS, at)
        key = item.get("key")
        label = f"{item.get('name') or 'Events API'} on {service.name}"
        existing = await Integration.get_or_none(key=key) if isinstance(key, str) else None
        if existing is None:
            fields = inputs.of(services.IntegrationFields, item)
            await _at(at, services.create_integration(self.principal, service.id, fields))
            self.note(Change("create", "integration", label))
        elif existing.service_id != service.id:  # type: ignore[attr-defined]
            raise ValidationFailed(
                f"{at}.key: the key already belongs to an integration of another service",
                field=f"{at}.key", reason="duplicate",
            )  # fmt: skip
        else:
            self.note(Change("unchanged", "integration", label))


async def _state(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return audit.snapshot(row, fields)


async def run(principal: Principal, document: Any, *, dry_run: bool) -> list[Change]:
    """Import ``document`` (the parsed file); what it did, or with ``dry_run`` what it
    would do. Nothing is written unless every object in it could be."""
    principal.require("services:write")
    if not isinstance(document, dict):
        raise ValidationFailed("the file must hold an object (a mapping)", field="body")
    _checked_keys(document, {"users", "teams", "schedules", "escalation_policies", "services"},
                  "file")  # fmt: skip
    importer = _Importer(principal)
    try:
        async with atomic():
            await importer.users(_list(document, "users"))
            await importer.teams(_list(document, "teams"))
            await importer.schedules(_list(document, "schedules"))
            await importer.policies(_list(document, "escalation_policies"))
            await importer.services(_list(document, "services"))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return importer.changes
