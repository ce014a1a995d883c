"""The escalation engine: arm on open, run one step when due, stop, restart, sweep.

State lives on the incident row: the policy snapshot taken when it opened, the step that
ran last (``current_escalation_step``), the step the due time runs next
(``escalation_next_step``, 0 = the end), the due time and a token. Running a step is a
conditional update on the token, so one runner wins and a stale or duplicate job is a
no-op; the step's timeline entries and notification rows are written in the same
transaction, and the job for the next due time is enqueued after it commits. Step 1 of
a new incident needs no claim: it runs in the transaction that opens the incident, and
the new incidents of a batch share its lookups (an alert storm pages at intake speed).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from opsknight import clock, ids
from opsknight.directory.models import ContactMethod, NotificationRule, Team, TeamMember, User
from opsknight.escalation import planning, reminders
from opsknight.escalation.models import EscalationPolicy
from opsknight.incidents import timeline
from opsknight.incidents.models import Incident
from opsknight.jobs import queue
from opsknight.notifications import dispatch
from opsknight.notifications.models import Notification
from opsknight.observability import ESCALATION_LAG
from opsknight.schedules.oncall import on_call_user_ids
from opsknight.shadow import service as shadow
from opsknight.transaction import atomic
from opsknight.webhooks.payloads import incident_payloads

logger = logging.getLogger("opsknight.escalation")

# Statuses that stop an escalation at once; moving back to OPEN starts it again.
STOPPING = frozenset({"ACKNOWLEDGED", "RESOLVED", "SNOOZED", "SUPPRESSED"})
JOB = "escalate"

# A new incident and its step 1, planned by ``arm_new`` and paged by ``page_first``.
FirstStep = tuple[Incident, planning.RunStep]
# An incident, the number of the step that pages, and that step.
Page = tuple[Incident, int, planning.StepSnapshot]


def snapshot(policy: EscalationPolicy) -> planning.PolicySnapshot:
    """The copy of a policy (with its steps prefetched) an incident keeps."""
    steps = sorted(policy.steps, key=lambda s: s.position)  # type: ignore[attr-defined]
    return planning.PolicySnapshot(
        steps=tuple(
            planning.StepSnapshot(
                target_type=step.target_type,
                target_id=step.target_id,
                delay_minutes=step.delay_minutes,
                notify_team_lead_only=step.notify_team_lead_only,
                channels=None if step.channels is None else tuple(step.channels),
            )
            for step in steps
        ),
        repeat=policy.repeat,
        repeat_limit=policy.repeat_limit,
        id=policy.id,
        name=policy.name,
        reminder_minutes=policy.reminder_minutes,
        ack_reminder_minutes=policy.ack_reminder_minutes,
    )


async def policies_of_services(service_ids: set[str]) -> dict[str, planning.PolicySnapshot]:
    """The current policy snapshot of each service that has one (read now, not cached)."""
    policies = await EscalationPolicy.filter(services__id__in=service_ids).prefetch_related(
        "steps", "services"
    )
    found: dict[str, planning.PolicySnapshot] = {}
    for policy in policies:
        copy = snapshot(policy)
        for service in policy.services:  # type: ignore[attr-defined]
            if service.id in service_ids:
                found[service.id] = copy
    return found


async def arm_new(incidents: list[Incident]) -> list[FirstStep]:
    """Before new incidents are saved: copy their service's policy and run step 1's
    bookkeeping, so they are stored with step 1 done and the next due time set.

    Call inside the transaction that saves them, then ``page_first`` with what this
    returns once they are saved: step 1 pages in that same transaction (SPEC §8: it runs
    "at once"), and the job for what comes next is enqueued after it commits. Test
    incidents and incidents created with ``suppress_notifications`` never escalate;
    SUPPRESSED ones (opened in a maintenance window) keep the copy for when they open.
    """
    wanted = [i for i in incidents if i.environment == "live" and not i.suppress_notifications]
    if not wanted:
        return []
    policies = await policies_of_services({i.service_id for i in wanted})  # type: ignore[attr-defined]
    first: list[FirstStep] = []
    for incident in wanted:
        copy = policies.get(incident.service_id)  # type: ignore[attr-defined]
        if copy is None:
            continue
        incident.escalation_policy_id = copy.id
        incident.policy_snapshot = copy.stored()
        incident.escalation_runs = 0
        if incident.status == "SUPPRESSED":
            continue
        columns = _armed(copy)
        action = planning.plan(
            copy, planning.Standing(status=incident.status, next_step=1, round=0, runs=0)
        )
        if isinstance(action, planning.Finish):
            columns.update(_ended(action.status))
        else:
            columns.update(_ran(action, columns["escalation_token"]))
            first.append((incident, action))
        for name, value in columns.items():
            setattr(incident, name, value)
    return first


async def page_first(first: list[FirstStep]) -> None:
    """After the incidents ``arm_new`` armed are saved, in the same transaction: page the
    people of their step 1 (with shared lookups) and start the timer of what follows.

    Paging must never cost an incident: if it fails, it is undone alone (a savepoint),
    the incidents are stored with step 1 due now instead, and their escalation job runs
    it as it runs any other step."""
    if not first:
        return
    try:
        async with atomic():
            await timeline.record_rows(
                [(incident, _escalation_entry(incident, action)) for incident, action in first
                 if action.announced]
            )  # fmt: skip
            await _notify_all(
                [(incident, action.number, action.step) for incident, action in first]
            )
    except Exception:
        logger.exception("paging step 1 of %d new incidents failed; their job runs it", len(first))
        await _due_now([incident for incident, _ in first])
    else:
        for _ in first:
            ESCALATION_LAG.observe(0.0)
    for incident, _ in first:
        await schedule_armed(incident)


async def _due_now(incidents: list[Incident]) -> None:
    """Put new incidents back to step 1 due now (their step 1 did not run)."""
    columns = {"current_escalation_step": 1, "escalation_next_step": 1, "escalation_round": 0,
               "escalation_runs": 0, "escalation_due_at": clock.now()}  # fmt: skip
    await Incident.filter(id__in=[incident.id for incident in incidents]).update(**columns)
    for incident in incidents:
        for name, value in columns.items():
            setattr(incident, name, value)


def _armed(policy: planning.PolicySnapshot) -> dict[str, Any]:
    """Columns that (re)start an escalation at step 1, due now."""
    return {
        "escalation_status": "ACTIVE",
        "current_escalation_step": 1,
        "escalation_next_step": 1,
        "escalation_round": 0,
        "escalation_token": ids.new_id("tok"),
        "escalation_due_at": clock.now(),
        **reminders.armed(policy, "OPEN"),
    }


def on_status_change(incident: Incident, target: str) -> dict[str, Any]:
    """Columns to change with a status move: stop on ACK/RESOLVE/SNOOZE/SUPPRESS, start
    again from step 1 on a move back to OPEN (reopen, unacknowledge, snooze end)."""
    policy = planning.PolicySnapshot.of(incident.policy_snapshot)
    live = bool(incident.policy_snapshot) and incident.environment == "live"
    if target == "OPEN" and live:
        return _armed(policy)
    columns = reminders.armed(policy if live else None, target)
    if target in STOPPING and incident.escalation_status == "ACTIVE":
        columns.update(_ended("COMPLETED"))
    return columns


async def schedule_armed(incident: Incident) -> None:
    """After a change that armed the incident commits, start its due step."""
    if incident.escalation_status == "ACTIVE" and incident.escalation_token:
        await _schedule(incident.id, incident.escalation_token, incident.escalation_due_at)


async def _schedule(incident_id: str, token: str, due: Any) -> None:
    await queue.enqueue_after_commit(JOB, incident_id, token, at=due, job_id=f"esc:{token}")


async def run_due(incident_id: str, token: str) -> bool:
    """The job: run the incident's due step if ``token`` is still current. True if it ran."""
    row = (
        await Incident.filter(id=incident_id)
        .only("id", "escalation_token", "escalation_due_at")
        .first()
    )
    if row is None or row.escalation_token != token or row.escalation_due_at is None:
        return False
    now = clock.now()
    if row.escalation_due_at > now:  # woke early: come back when due
        await queue.enqueue(JOB, incident_id, token, at=row.escalation_due_at)
        return False
    lag = (now - row.escalation_due_at).total_seconds()
    async with atomic():
        claimed = ids.new_id("tok")
        won = await Incident.filter(
            id=incident_id, escalation_token=token, escalation_status="ACTIVE"
        ).update(escalation_token=claimed)
        if not won:
            return False
        incident = await Incident.select_for_update().get(id=incident_id)
        await _advance(incident, claimed)
    ESCALATION_LAG.observe(lag)
    return True


async def _advance(incident: Incident, token: str) -> None:
    """Load where the escalation stands, plan its due step, write what the plan says."""
    standing = planning.Standing(
        status=incident.status,
        next_step=incident.escalation_next_step or 0,
        round=incident.escalation_round or 0,
        runs=incident.escalation_runs or 0,
    )
    action = planning.plan(planning.PolicySnapshot.of(incident.policy_snapshot), standing)
    if isinstance(action, planning.Finish):
        await _finish(incident, action.status)
        return
    await _save(incident, **_ran(action, token))
    if action.announced:
        await timeline.record_rows([(incident, _escalation_entry(incident, action))])
    await _notify_all([(incident, action.number, action.step)])
    await _schedule(incident.id, token, incident.escalation_due_at)


def _escalation_entry(incident: Incident, action: planning.RunStep) -> dict[str, Any]:
    """The ``escalation`` entry of a step run after the first of the incident's life."""
    step = action.step
    return timeline.entry_row(
        incident.id,
        "escalation",
        timeline.SYSTEM,
        {
            "step": action.number,
            "round": action.entry_round,
            "target": {"type": step.target_type, "id": step.target_id},
        },
    )


def _ran(action: planning.RunStep, token: str) -> dict[str, Any]:
    """Columns once ``action``'s step has run: it is current, the next one is due."""
    return {
        "current_escalation_step": action.number,
        "escalation_next_step": action.following,
        "escalation_round": action.round,
        "escalation_runs": action.runs,
        "escalation_due_at": clock.now() + clock.scaled(action.delay),
        "escalation_token": token,
    }


def _ended(status: str) -> dict[str, Any]:
    """Columns that end an escalation (COMPLETED or EXHAUSTED): no step is due any more."""
    return {
        "escalation_status": status,
        "escalation_token": None,
        "escalation_due_at": None,
        "escalation_next_step": None,
    }


async def _finish(incident: Incident, status: str) -> None:
    await _save(incident, **_ended(status))


async def _save(incident: Incident, **columns: Any) -> None:
    """Write escalation columns, as a change of the incident (a new version)."""
    columns.update(updated_at=clock.now(), version=incident.version + 1)
    for name, value in columns.items():
        setattr(incident, name, value)
    await incident.save(update_fields=list(columns))


async def recipients(step: dict[str, Any], at: datetime) -> tuple[list[User], str | None]:
    """Who a step reaches at ``at``, or nobody and the reason (the dry-run asks too)."""
    kind, target_id = step["target_type"], step["target_id"]
    if kind == "USER":
        users = await User.filter(id=target_id)
        reason = "user_not_found"
    elif kind == "TEAM":
        team = await Team.get_or_none(id=target_id)
        if team is None:
            return [], "team_not_found"
        if step.get("notify_team_lead_only"):
            lead_id = team.lead_id  # type: ignore[attr-defined]
            users = await User.filter(id=lead_id) if lead_id else []
            reason = "team_has_no_lead"
        else:
            member_ids = await TeamMember.filter(
                team_id=target_id, receive_team_notifications=True
            ).values_list("user_id", flat=True)
            users = await User.filter(id__in=list(member_ids)).order_by("name", "id")
            reason = "no_member_receives_team_notifications"
    else:
        user_ids = await on_call_user_ids(target_id, at)
        users = await User.filter(id__in=user_ids) if user_ids else []
        reason = "nobody_on_call"
    active = [u for u in users if u.status == "ACTIVE"]
    if not active:
        return [], ("user_disabled" if users else reason)
    return active, None


async def _notify_all(pages: list[Page]) -> None:
    """Page the people of each step, in the step's transaction. The pages of many
    incidents (an alert storm's new incidents) share their lookups: each target is
    resolved once, and everyone's contact methods and rules are read in one query each."""
    if not pages:
        return
    now = clock.now()
    reached: dict[tuple[str, str, bool], tuple[list[User], str | None]] = {}
    for _, _, step in pages:
        target_key = (step.target_type, step.target_id, step.notify_team_lead_only)
        if target_key not in reached:
            reached[target_key] = await recipients(step.as_dict(), now)
    user_ids = sorted({user.id for users, _ in reached.values() for user in users})
    methods: dict[str, list[ContactMethod]] = {}
    rules: dict[str, list[NotificationRule]] = {}
    if user_ids:
        for method in await ContactMethod.filter(user_id__in=user_ids).order_by("created_at"):
            methods.setdefault(method.user_id, []).append(method)  # type: ignore[attr-defined]
        for rule in await NotificationRule.filter(user_id__in=user_ids).order_by("position"):
            rules.setdefault(rule.user_id, []).append(rule)  # type: ignore[attr-defined]
    incidents = list({incident.id: incident for incident, _, _ in pages}.values())
    payloads = await incident_payloads(incidents)
    held_back = await shadow.shadowed({i.service_id for i in incidents})  # type: ignore[attr-defined]
    failed: list[tuple[Incident, dict[str, Any]]] = []
    planned: list[Notification] = []
    for incident, number, step in pages:
        users, reason = reached[(step.target_type, step.target_id, step.notify_team_lead_only)]
        target = {"type": step.target_type, "id": step.target_id}
        if not users:
            details = {"step": number, "target": target, "reason": reason}
            failed.append((incident, _failed_entry(incident, details)))
            continue
        for user in users:
            theirs = dispatch.plan_notifications(
                incident,
                user,
                methods.get(user.id, []),
                number,
                None if step.channels is None else list(step.channels),
                rules.get(user.id, []),
                payloads[incident.id],
                incident.service_id in held_back,  # type: ignore[attr-defined]
                now,
            )
            planned.extend(theirs)
            if not theirs:
                details = {"step": number, "target": target,
                           "user": {"id": user.id, "name": user.name},
                           "reason": "no_contact_method"}  # fmt: skip
                failed.append((incident, _failed_entry(incident, details)))
    await timeline.record_rows(failed)
    await dispatch.queue_all(planned)


def _failed_entry(incident: Incident, details: dict[str, Any]) -> dict[str, Any]:
    return timeline.entry_row(incident.id, "notification_failed", timeline.SYSTEM, details)


async def remind(incident: Incident) -> None:
    """Page the people of the incident's current step again (a reminder): in the
    reminder's transaction, after ``reminders.claim_due`` won it."""
    steps = planning.PolicySnapshot.of(incident.policy_snapshot).steps
    number = incident.current_escalation_step or 0
    if not 0 < number <= len(steps):
        return
    await timeline.record(
        incident,
        "reminder",
        timeline.SYSTEM,
        {"step": number, "status": incident.status, "count": incident.reminders_sent},
    )
    await _notify_all([(incident, number, steps[number - 1])])


async def sweep_reminders(limit: int = 100) -> int:
    """Send the reminders that are due; each is claimed by moving its due time on."""
    due = (
        await Incident.filter(reminder_due_at__lte=clock.now(), status__in=("OPEN", "ACKNOWLEDGED"))
        .order_by("reminder_due_at")
        .limit(limit)
        .values_list("id", "reminder_due_at")
    )
    sent = 0
    for incident_id, at in due:
        try:
            async with atomic():
                incident = await Incident.select_for_update().get(id=incident_id)
                count = incident.reminders_sent + 1
                policy = planning.PolicySnapshot.of(incident.policy_snapshot)
                following = reminders.following(policy, incident.status, count)
                won = await Incident.filter(id=incident_id, reminder_due_at=at).update(
                    reminder_due_at=following, reminders_sent=count
                )
                if not won:
                    continue  # another worker sent it, or the status changed
                incident.reminder_due_at, incident.reminders_sent = following, count
                await remind(incident)
                sent += 1
        except Exception:
            logger.exception("reminder for %s failed; it stays due", incident_id)
    return sent


async def sweep(limit: int = 100) -> int:
    """Run escalation steps whose due time passed without their job (lost or late)."""
    due = (
        await Incident.filter(escalation_status="ACTIVE", escalation_due_at__lte=clock.now())
        .order_by("escalation_due_at")
        .limit(limit)
        .values_list("id", "escalation_token")
    )
    ran = 0
    for incident_id, token in due:
        try:
            ran += await run_due(incident_id, token)
        except Exception:
            logger.exception("escalation step of %s failed; it stays due", incident_id)
    return ran
