"""The escalation's pure planning (escalation/planning.py) over whole policies: steps in
order, rounds counted, repeat limits kept, and an answered incident never escalates."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from opsknight.escalation.planning import Finish, PolicySnapshot, RunStep, Standing, plan

STEP = st.builds(
    dict,
    target_type=st.sampled_from(["USER", "SCHEDULE", "TEAM"]),
    target_id=st.text(alphabet="abcdef0123456789", min_size=1, max_size=6),
    delay_minutes=st.integers(min_value=0, max_value=1440),
)
POLICIES = st.builds(
    dict,
    steps=st.lists(STEP, min_size=1, max_size=6),
    repeat=st.booleans(),
    repeat_limit=st.integers(min_value=0, max_value=5),
)
ARMED = Standing(status="OPEN", next_step=1, round=0, runs=0)


def run_out(policy: PolicySnapshot, standing: Standing) -> tuple[list[RunStep], Finish]:
    """Plan step after step while the incident stays OPEN, until the escalation ends."""
    ran: list[RunStep] = []
    while True:
        action = plan(policy, standing)
        if isinstance(action, Finish):
            return ran, action
        ran.append(action)
        standing = Standing("OPEN", action.following, action.round, action.runs)
        assert len(ran) <= 6 * 6, "the escalation never ends"


@given(copy=POLICIES)
def test_an_unanswered_incident_runs_every_step_of_every_round_then_ends(copy: dict) -> None:
    policy = PolicySnapshot.of(copy)
    ran, finish = run_out(policy, ARMED)
    rounds = copy["repeat_limit"] + 1 if copy["repeat"] else 1
    steps = len(copy["steps"])
    assert [(r.number, r.entry_round) for r in ran] == [
        (number, round_) for round_ in range(1, rounds + 1) for number in range(1, steps + 1)
    ]
    assert finish == Finish("EXHAUSTED" if copy["repeat"] else "COMPLETED")
    # Each step waits its own delay before the next; only the first is not announced.
    assert [r.delay for r in ran] == [
        timedelta(minutes=copy["steps"][r.number - 1]["delay_minutes"]) for r in ran
    ]
    assert [r.announced for r in ran] == [False] + [True] * (len(ran) - 1)
    assert [r.runs for r in ran] == list(range(1, len(ran) + 1))
    assert all(r.step.target_id == copy["steps"][r.number - 1]["target_id"] for r in ran)


@given(copy=POLICIES, after=st.integers(min_value=0, max_value=10),
       status=st.sampled_from(["ACKNOWLEDGED", "RESOLVED", "SNOOZED", "SUPPRESSED"]))  # fmt: skip
def test_an_answered_incident_stops_wherever_it_stood(copy: dict, after: int, status: str) -> None:
    policy = PolicySnapshot.of(copy)
    ran, _ = run_out(policy, ARMED)
    standing = ARMED
    for action in ran[:after]:
        standing = Standing("OPEN", action.following, action.round, action.runs)
    answered = Standing(status, standing.next_step, standing.round, standing.runs)
    assert plan(policy, answered) == Finish("COMPLETED")


@given(copy=POLICIES, after=st.integers(min_value=1, max_value=10))
def test_a_reopened_incident_starts_again_from_the_first_step(copy: dict, after: int) -> None:
    """Reopening (or an unacknowledge, or a snooze ending) re-arms at step 1, round 0;
    only the runs already made are remembered, so the restart is announced."""
    policy = PolicySnapshot.of(copy)
    ran, _ = run_out(policy, ARMED)
    made = ran[min(after, len(ran)) - 1].runs
    again, finish = run_out(policy, Standing("OPEN", 1, 0, made))
    assert [(r.number, r.entry_round) for r in again] == [(r.number, r.entry_round) for r in ran]
    assert all(r.announced for r in again)
    assert finish == Finish("EXHAUSTED" if copy["repeat"] else "COMPLETED")


def test_a_policy_without_steps_completes_at_once() -> None:
    assert plan(PolicySnapshot.of({"steps": []}), ARMED) == Finish("COMPLETED")
    assert plan(PolicySnapshot.of(None), ARMED) == Finish("COMPLETED")


STORED = st.builds(
    dict,
    id=st.text(alphabet="abcdef0123456789", min_size=1, max_size=8).map(lambda s: f"pol_{s}"),
    name=st.text(min_size=1, max_size=20),
    steps=st.lists(
        st.builds(
            dict,
            target_type=st.sampled_from(["USER", "SCHEDULE", "TEAM"]),
            target_id=st.text(alphabet="abcdef0123456789", min_size=1, max_size=6),
            delay_minutes=st.integers(min_value=0, max_value=1440),
            notify_team_lead_only=st.booleans(),
            channels=st.none() | st.lists(st.sampled_from(["email", "sms", "push"]), max_size=3),
        ),
        max_size=6,
    ),
    repeat=st.booleans(),
    repeat_limit=st.integers(min_value=0, max_value=5),
    reminder_minutes=st.none() | st.integers(min_value=1, max_value=1440),
    ack_reminder_minutes=st.none() | st.integers(min_value=1, max_value=10080),
)


@given(copy=STORED)
def test_a_stored_policy_copy_reads_back_as_it_was_written(copy: dict) -> None:
    policy = PolicySnapshot.of(copy)
    assert policy.stored() == copy
    assert PolicySnapshot.of(policy.stored()) == policy
    # Reminders follow the status: OPEN and ACKNOWLEDGED have their own, others none.
    assert policy.reminder_every("OPEN") == copy["reminder_minutes"]
    assert policy.reminder_every("ACKNOWLEDGED") == copy["ack_reminder_minutes"]
    assert policy.reminder_every("RESOLVED") is None
