"""Tortoise configuration, the shared model base, and the migration entry point."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tortoise import Tortoise, connections, fields
from tortoise.models import Model

from opsknight import ids

MODEL_MODULES = [
    "opsknight.auth.models",
    "opsknight.directory.models",
    "opsknight.incidents.models",
    "opsknight.events.models",
    "opsknight.escalation.models",
    "opsknight.schedules.models",
    "opsknight.webhooks.models",
    "opsknight.notifications.models",
    "opsknight.maintenance.models",
    "opsknight.heartbeats.models",
    "opsknight.rules.models",
    "opsknight.audit.models",
    "opsknight.analytics.models",
    "opsknight.shadow.models",
]


# JSON columns use the standard library's encoder whatever else is installed (Tortoise
# would switch to orjson, which refuses integers beyond 64 bits that JSON allows).
JSON_ENCODER = functools.partial(json.dumps, separators=(",", ":"))


def json_field(**options: Any) -> Any:
    """A JSON column (stored losslessly for any JSON value an API accepts)."""
    return fields.JSONField(encoder=JSON_ENCODER, decoder=json.loads, **options)


class PrefixedModel(Model):
    """A model whose primary key is a prefixed, time-ordered id (``inc_…``)."""

    id = fields.CharField(primary_key=True, max_length=40)
    id_prefix: str = ""

    class Meta:
        abstract = True

    def __init__(self, **kwargs: Any) -> None:
        # Rows loaded from the database bypass __init__, so only new rows get an id here.
        if "id" not in kwargs:
            kwargs["id"] = ids.new_id(self.id_prefix)
        super().__init__(**kwargs)


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config dict for one database URL."""
    return {
        "connections": {"default": _normalise_url(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "opsknight.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _normalise_url(url: str) -> str:
    # Accept the common spellings of a PostgreSQL URL.
    for prefix in ("postgresql://", "postgresql+asyncpg://", "asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix) :]
    return url


async def migrate(database_url: str) -> None:
    """Apply every pending migration to the database."""
    from tortoise.migrations.api import migrate as run_migrations

    try:
        await run_migrations(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


class Statement:
    """A fixed SQL statement for a hot path, where building the query with the ORM costs
    several times more than running it. Written with ``$1, $2, …`` placeholders (used in
    order), run on the current connection (so inside a transaction when there is one);
    rows come back as dicts of raw column values: convert them with ``python_value``."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.sqlite_sql = re.sub(r"\$\d+", "?", sql)

    async def rows(self, *params: Any) -> list[dict[str, Any]]:
        conn = connections.get("default")
        sql = self.sqlite_sql if conn.capabilities.dialect == "sqlite" else self.sql
        rows: list[dict[str, Any]] = await conn.execute_query_dict(sql, list(params))
        return rows


async def insert_rows(model: type[Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert plain rows into a model's table with the statement ``bulk_create`` runs, but
    without a model object per row: building one costs ~20 µs, a tenth of an event's
    share of a batch (docs/benchmarks.md, "Hot path"). A row names every column by field
    name, ``id`` included; runs on the current connection (the transaction's, if any)."""
    if not rows:
        return
    connection = model._meta.db
    executor = connection.executor_class(model, connection)  # Tortoise caches its statements
    fields = model._meta.fields_map
    columns = executor.regular_columns_all
    values = [[fields[c].to_db_value(row[c], model) for c in columns] for row in rows]
    await connection.execute_many(executor.insert_query_all, values)


def python_value(model: type[Model], field_name: str, raw: Any) -> Any:
    """A raw column value as the model's field would load it (JSON, datetimes)."""
    return model._meta.fields_map[field_name].to_python_value(raw)


def is_postgres(database_url: str) -> bool:
    return _normalise_url(database_url).startswith("postgres://")


# For Tortoise's own CLI when a developer writes a migration:
#   tortoise -c opsknight.db.TORTOISE_ORM makemigrations
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
