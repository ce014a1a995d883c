"""`db.build` makes the object the model's constructor makes, for every model, so an
upgrade of Tortoise that changes what a new object holds fails here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from tortoise import Tortoise

from opsknight import clock
from opsknight.db import PrefixedModel, build, insert_objects, value_writer
from opsknight.directory.models import Service
from opsknight.incidents import timeline
from opsknight.incidents.models import Incident, TimelineEvent
from tests.conftest import Api, unique


def _state(obj: Any) -> dict[str, Any]:
    # Defaults made by a factory (a time, a fresh id) are compared by type.
    return {
        key: type(value) if isinstance(value, datetime) else value
        for key, value in vars(obj).items()
    }


def _models() -> list[type[Any]]:
    return [m for app in Tortoise.apps.values() for m in app.values()]


async def test_every_model_builds_as_its_constructor_makes_it(app: Any) -> None:
    models = _models()
    assert len(models) > 20
    for model in models:
        given = {"id": "x_1"} if issubclass(model, PrefixedModel) else {}
        assert _state(build(model, **given)) == _state(model(**given)), model.__name__


async def test_an_incident_built_from_an_event_saves_and_loads_as_a_constructed_one(
    admin: Api, service: dict[str, Any]
) -> None:
    owner = await Service.get(id=service["id"])
    now = clock.now()
    values: dict[str, Any] = {
        "environment": "live", "number": 0, "title": unique("Disk full"), "urgency": "HIGH",
        "service": owner, "integration": None, "dedup_key": unique("k"),
        "custom_details": {"disk": "/var"}, "alert_count": 1,
        "created_at": now, "updated_at": now, "last_status_change": now,
    }  # fmt: skip
    built = build(Incident, **values)
    constructed = Incident(**{**values, "id": built.id})
    assert _state(built) == _state(constructed)
    assert built.service_id == owner.id and await built.service is owner  # type: ignore[attr-defined]
    assert not built._saved_in_db

    built.number = 9_000_001
    await Incident.bulk_create([built])
    loaded = await Incident.get(id=built.id)
    assert (loaded.title, loaded.custom_details, loaded.links) == (
        values["title"],
        {"disk": "/var"},
        [],
    )
    assert (loaded.status, loaded.escalation_status, loaded.version) == ("OPEN", "NONE", 1)

    entry = timeline.entry_row(built.id, "created", {"type": "system"}, {"source": "event"})
    assert _state(build(TimelineEvent, **entry)) == _state(TimelineEvent(**entry))


async def test_objects_inserted_as_rows_store_what_bulk_create_stores(
    admin: Api, service: dict[str, Any]
) -> None:
    now = clock.now()
    values: dict[str, Any] = {
        "environment": "live", "title": unique("Disk full"), "urgency": "HIGH",
        "service_id": service["id"], "description": None,
        "custom_details": {"disk": "/var", "big": 2**70}, "links": [{"href": "x"}],
        "alert_count": 3, "created_at": now, "updated_at": now, "last_status_change": now,
    }  # fmt: skip
    # Two incidents open at once: different dedup keys.
    by_orm = build(Incident, number=9_000_101, dedup_key=unique("k"), **values)
    as_row = build(Incident, number=9_000_102, dedup_key=unique("k"), **values)
    await Incident.bulk_create([by_orm])
    await insert_objects(Incident, [as_row])
    stored = {
        row.pop("id"): row for row in await Incident.filter(id__in=[by_orm.id, as_row.id]).values()
    }
    first, second = stored[by_orm.id], stored[as_row.id]
    assert (first.pop("number"), second.pop("number")) == (9_000_101, 9_000_102)
    assert first.pop("dedup_key") != second.pop("dedup_key")
    assert first == second
    assert second["custom_details"] == {"disk": "/var", "big": 2**70}
    assert second["description"] is None and second["acknowledged_at"] is None


async def test_a_relation_given_by_id_is_fetched_when_read(
    admin: Api, service: dict[str, Any]
) -> None:
    built = build(Incident, service_id=service["id"], title="t", number=0)
    assert built.service_id == service["id"]  # type: ignore[attr-defined]
    assert (await built.service).id == service["id"]  # type: ignore[attr-defined]


def test_a_model_with_an_async_default_is_refused() -> None:
    from tortoise import fields
    from tortoise.models import Model

    async def later() -> int:
        return 1

    class Deferred(Model):
        value = fields.IntField(default=later)

        class Meta:
            app = "build_test"

    with pytest.raises(TypeError, match="async default"):
        build(Deferred)


_SAMPLES: list[Any] = [
    None,
    "",
    "web-1",
    "é" * 3,
    "x" * 255,
    "x" * 256,
    "y" * 5000,
    {"a": [1, 2.5, None]},
    [],
    [{"href": "https://x"}],
    {"nested": {"k": "v"}},
    0,
    7,
    True,
    2.5,
]


async def test_insert_rows_converts_every_value_as_its_field_does(app: Any) -> None:
    # The shortcuts for strings and JSON give what the field's own conversion gives, and
    # an over-long string or a value of another type is still checked by the field.
    shortcuts = 0
    for model in _models():
        for name, field in model._meta.fields_map.items():
            if name not in model._meta.db_fields:
                continue
            shortcut = value_writer(field)
            shortcuts += getattr(shortcut, "__self__", None) is not field
            for value in _SAMPLES:
                try:
                    expected: Any = field.to_db_value(value, model)
                except Exception as exc:
                    expected = (type(exc), str(exc))
                try:
                    got: Any = shortcut(value, model)
                except Exception as exc:
                    got = (type(exc), str(exc))
                assert got == expected, (model.__name__, name, value)
    assert shortcuts > 50
