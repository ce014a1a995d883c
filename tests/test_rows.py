"""GraphQL objects read from rows by their type's own fields (graphql/types/rows.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from opsknight.graphql.types.directory import User
from opsknight.graphql.types.enums import Role, UserStatus
from opsknight.graphql.types.rows import from_row
from opsknight.graphql.types.webhooks import Webhook


def test_every_field_is_read_and_converted_as_its_type_says() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    row = SimpleNamespace(
        id="usr_1", name="Ada", email="ada@example.com", role="ADMIN", status="ACTIVE",
        time_zone="UTC", handoff_notices=True, shift_end_notices=False,
        created_at=now, updated_at=now, extra="x",
    )  # fmt: skip
    user = from_row(User, row)
    assert (user.id, user.role, user.status) == ("usr_1", Role.ADMIN, UserStatus.ACTIVE)
    assert isinstance(user.role, Role) and user.created_at == now


def test_lists_are_copied_nulls_kept_and_given_fields_win() -> None:
    events = ["incident.triggered"]
    row = SimpleNamespace(
        id="whk_1", name="ops", url="https://example.com", format="opsknight", events=events,
        enabled=True, include_test=False, service_ids=None, consecutive_failures=0,
        disabled_reason=None, created_at=None, updated_at=None,
    )  # fmt: skip
    webhook = from_row(Webhook, row, name="given")
    assert webhook.events == events and webhook.events is not events
    assert webhook.service_ids is None and webhook.name == "given"


def test_a_row_missing_a_field_is_an_error_not_a_null() -> None:
    with pytest.raises(AttributeError):
        from_row(Webhook, SimpleNamespace(id="whk_1"))
