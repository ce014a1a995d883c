"""Escalation policies (the engine and the full CRUD arrive with the escalation work)."""

from __future__ import annotations

from opsknight.escalation.models import EscalationPolicy


async def policies_by_ids(policy_ids: list[str]) -> list[EscalationPolicy | None]:
    """Batch load for DataLoaders, in key order."""
    rows = {p.id: p for p in await EscalationPolicy.filter(id__in=policy_ids)}
    return [rows.get(i) for i in policy_ids]
