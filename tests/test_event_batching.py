"""Group commit: senders that send again as soon as they are answered share full batches,
and a lone event is never held back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from prometheus_client import REGISTRY

from opsknight.auth.principal import ANONYMOUS
from opsknight.events.batching import EventBatcher
from opsknight.events.payload import parse_event
from opsknight.events.routing import Target, resolve_target
from opsknight.incidents.models import Incident
from tests.conftest import Api, unique

SENDERS, ROUNDS = 8, 4


@pytest.fixture
async def target(admin: Api) -> Target:
    service = await admin.create("/api/services", {"name": unique("batching")})
    integration = await admin.create(f"/api/services/{service['id']}/integrations", {})
    return await resolve_target(ANONYMOUS, integration["key"], None)


def _trigger(dedup_key: str) -> Any:
    return parse_event({
        "event_action": "trigger", "dedup_key": dedup_key,
        "payload": {"summary": "Disk full", "source": "db1", "severity": "error"},
    })  # fmt: skip


def _batches() -> float:
    return REGISTRY.get_sample_value("opsknight_event_batch_size_count") or 0.0


async def _closed_loop(batcher: EventBatcher, target: Target, prefix: str) -> list[str]:
    """SENDERS senders, each sending its next event a different time after its answer
    (as requests over the network come back spread out); the actions, in order."""
    actions: list[str] = []

    async def sender(index: int) -> None:
        for round_ in range(ROUNDS):
            outcome = await batcher.submit(target, _trigger(f"{prefix}-{index}-{round_}"))
            actions.append(outcome.action)
            await asyncio.sleep(0.003 * index)

    await asyncio.wait_for(asyncio.gather(*(sender(i) for i in range(SENDERS))), timeout=60)
    return actions


async def test_senders_that_send_again_when_answered_share_full_batches(target: Target) -> None:
    batcher = EventBatcher(fill_wait=1.0)
    try:
        before = _batches()
        prefix = unique("loop")
        actions = await _closed_loop(batcher, target, prefix)
        # Every round is one transaction, however spread out its senders come back.
        assert _batches() - before == ROUNDS
    finally:
        await batcher.close()
    assert actions == ["triggered"] * (SENDERS * ROUNDS)
    assert await Incident.filter(dedup_key__startswith=prefix).count() == SENDERS * ROUNDS

    # Without waiting, the senders that come back later miss the batch in progress.
    hasty = EventBatcher(fill_wait=0.0)
    try:
        before = _batches()
        await _closed_loop(hasty, target, unique("hasty"))
        assert _batches() - before > ROUNDS
    finally:
        await hasty.close()


async def test_a_lone_event_is_not_held_back(target: Target) -> None:
    batcher = EventBatcher(fill_wait=30.0)
    try:
        started = time.monotonic()
        for index in range(3):
            outcome = await batcher.submit(target, _trigger(unique(f"lone-{index}")))
            assert outcome.action == "triggered"
        assert time.monotonic() - started < 10  # far below one fill wait
    finally:
        await batcher.close()


async def test_after_a_burst_whose_senders_went_quiet_the_next_event_waits_at_most_the_fill_wait(
    target: Target,
) -> None:
    batcher = EventBatcher(fill_wait=0.5)
    try:
        burst = [batcher.submit(target, _trigger(unique("burst"))) for _ in range(SENDERS)]
        assert {o.action for o in await asyncio.gather(*burst)} == {"triggered"}
        started = time.monotonic()
        outcome = await asyncio.wait_for(
            batcher.submit(target, _trigger(unique("after"))), timeout=10
        )
        assert outcome.action == "triggered"
        assert time.monotonic() - started < 0.5 + 5
    finally:
        await batcher.close()
