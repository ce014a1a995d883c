"""Write fields for incidents."""

from __future__ import annotations

import strawberry

from opsknight import inputs
from opsknight.graphql.context import Info
from opsknight.graphql.types.common import Deleted, provided
from opsknight.graphql.types.enums import BulkItemStatus
from opsknight.graphql.types.incidents import (
    BulkItemError,
    BulkItemResult,
    BulkResult,
    BulkUpdateInput,
    CreateIncidentInput,
    Incident,
    MergeResult,
    Note,
    NoteInput,
    UpdateIncidentInput,
)
from opsknight.incidents import commands, merge


@strawberry.type
class IncidentMutation:
    @strawberry.mutation(
        description="A retry with the same idempotency key and input returns the first incident."
    )
    async def create_incident(
        self, info: Info, input: CreateIncidentInput, idempotency_key: str | None = None
    ) -> Incident:
        fields = inputs.of(commands.NewIncident, provided(input))
        row = await commands.create_incident(info.context.principal(), fields, idempotency_key)
        return Incident.from_row(row)

    @strawberry.mutation(description="With if_match, a stale etag is CONFLICT.")
    async def update_incident(
        self,
        info: Info,
        id: strawberry.ID,
        input: UpdateIncidentInput,
        if_match: str | None = None,
    ) -> Incident:
        fields = inputs.of(commands.IncidentChange, provided(input))
        row = await commands.update_incident(info.context.principal(), id, fields, if_match)
        return Incident.from_row(row)

    @strawberry.mutation
    async def delete_incident(self, info: Info, id: strawberry.ID) -> Deleted:
        deleted = await commands.delete_incident(info.context.principal(), id)
        return Deleted(id=strawberry.ID(deleted))

    @strawberry.mutation
    async def add_note(self, info: Info, incident_id: strawberry.ID, input: NoteInput) -> Note:
        fields = inputs.of(commands.NoteFields, provided(input))
        row = await commands.add_note(info.context.principal(), incident_id, fields)
        return Note.from_row(row)

    @strawberry.mutation
    async def merge_incidents(
        self, info: Info, id: strawberry.ID, source_incident_ids: list[strawberry.ID]
    ) -> MergeResult:
        result = await merge.merge_incidents(
            info.context.principal(), id, [str(s) for s in source_incident_ids]
        )
        return MergeResult(
            id=strawberry.ID(result.id),
            merged_incidents=[strawberry.ID(s) for s in result.merged_incidents],
            merged_at=result.merged_at,
        )

    @strawberry.mutation(description="Each incident follows updateIncident's rules on its own.")
    async def bulk_update_incidents(
        self, info: Info, incident_ids: list[strawberry.ID], updates: BulkUpdateInput
    ) -> BulkResult:
        items = await merge.bulk_update(
            info.context.principal(),
            [str(i) for i in incident_ids],
            inputs.of(commands.IncidentChange, provided(updates)),
        )
        results = [
            BulkItemResult(
                id=strawberry.ID(item.id),
                status=BulkItemStatus.success if item.ok else BulkItemStatus.error,
                error=None
                if item.error is None
                else BulkItemError(code=item.error.code, message=item.error.message),
            )
            for item in items
        ]
        updated = sum(1 for item in items if item.ok)
        return BulkResult(updated=updated, failed=len(items) - updated, results=results)
