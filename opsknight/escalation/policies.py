"""Escalation policies (the engine and the full CRUD arrive with the escalation work)."""

from __future__ import annotations

from opsknight.batch import rows_by_ids
from opsknight.escalation.models import EscalationPolicy


async def policies_by_ids(policy_ids: list[str]) -> list[EscalationPolicy | None]:
    """Batch load for DataLoaders, in key order."""
    return await rows_by_ids(EscalationPolicy, policy_ids)
