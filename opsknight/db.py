"""Tortoise configuration, the shared model base, and the migration entry point."""

from __future__ import annotations

import copy
import functools
import inspect
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from tortoise import Tortoise, connections, fields
from tortoise.models import Model
from tortoise.validators import MaxLengthValidator

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


ModelT = TypeVar("ModelT", bound=Model)


async def insert_rows(model: type[Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert plain rows into a model's table with the statement ``bulk_create`` runs, but
    without a model object per row: building one costs ~20 µs, a tenth of an event's
    share of a batch (docs/benchmarks.md, "Hot path"). A row names every column by field
    name, ``id`` included; runs on the current connection (the transaction's, if any).
    Each value is converted and checked by its field (``to_db_value``), except a None in
    a nullable column, which is stored as NULL without the call: it converts to None."""
    if not rows:
        return
    connection = model._meta.db
    executor = connection.executor_class(model, connection)  # Tortoise caches its statements
    writers = _writers(model, tuple(executor.regular_columns_all))
    values = [
        [
            None if (value := row[name]) is None and nullable else convert(value, model)
            for name, convert, nullable in writers
        ]
        for row in rows
    ]
    await connection.execute_many(executor.insert_query_all, values)


async def insert_objects(model: type[ModelT], objects: Sequence[ModelT]) -> None:
    """Insert new model objects (made by ``build`` or the constructor) as ``bulk_create``
    does, reading each one's field values as a row (``insert_rows``)."""
    await insert_rows(model, [vars(obj) for obj in objects])


_Writer = tuple[str, Callable[[Any, Any], Any], bool]  # (field, to_db_value, nullable)


@functools.cache
def _writers(model: type[Model], columns: tuple[str, ...]) -> list[_Writer]:
    fields_map = model._meta.fields_map
    return [(c, value_writer(fields_map[c]), bool(fields_map[c].null)) for c in columns]


def value_writer(field: fields.Field[Any]) -> Callable[[Any, Any], Any]:
    """The field's ``to_db_value``, with a shortcut for the values a hot path writes most
    (a string within its length, a JSON object or list) that returns what the field's own
    conversion would. Anything else goes through the field."""
    convert = field.to_db_value
    validators = field.validators
    if type(field).to_db_value is fields.Field.to_db_value and field.field_type is str:
        if not validators:
            return lambda value, model: value if type(value) is str else convert(value, model)
        if len(validators) == 1 and type(validators[0]) is MaxLengthValidator:
            limit = validators[0].max_length
            return lambda value, model: (
                value if type(value) is str and len(value) <= limit else convert(value, model)
            )
    if type(field).to_db_value is fields.JSONField.to_db_value and not validators:
        encode = field.encoder  # type: ignore[attr-defined]
        empty_object, empty_list = encode({}), encode([])  # most JSON columns start empty

        def write_json(value: Any, model: Any) -> Any:
            kind = type(value)
            if kind is dict:
                return encode(value) if value else empty_object
            if kind is list:
                return encode(value) if value else empty_list
            return convert(value, model)

        return write_json
    return convert


def build(model: type[ModelT], **values: Any) -> ModelT:
    """A new, unsaved model object, as ``model(**values)`` makes it, for hot paths that
    build many: the constructor converts, checks and sets every field one by one through
    Tortoise's ``__setattr__`` (about 50 µs for an incident). The values must already be
    Python values of the fields' types; the insert (``bulk_create``) still checks them.
    Relations are given by object (``service=...``) or by id (``service_id=...``).
    ``tests/test_db_build.py`` holds this to the constructor, field by field."""
    static, fresh, relations = _blank(model)
    obj = model.__new__(model)
    attrs = obj.__dict__
    attrs.update(static)
    for name, factory in fresh:
        if name not in values:
            attrs[name] = factory()
    for name, (cache, source, to_field) in relations.items():
        if name in values:
            related = values.pop(name)
            attrs[source] = getattr(related, to_field) if related is not None else None
            attrs[cache] = related
    attrs.update(values)
    if "id" not in values and issubclass(model, PrefixedModel):
        attrs["id"] = ids.new_id(model.id_prefix)
    # The state Model.__init__ starts an object with.
    attrs.update(_partial=False, _saved_in_db=False, _custom_generated_pk=False)
    attrs["_await_when_save"] = {}
    return obj


_Factory = Callable[[], Any]
_Relation = tuple[str, str, str]  # (cached object attribute, id field, related field)


@functools.cache
def _blank(
    model: type[Model],
) -> tuple[dict[str, Any], list[tuple[str, _Factory]], dict[str, _Relation]]:
    """A model's defaults as its constructor applies them: fixed values, values made anew
    for each object, and its relations (foreign keys, one-to-one)."""
    meta = model._meta
    static: dict[str, Any] = {}
    fresh: list[tuple[str, _Factory]] = []
    relations: dict[str, _Relation] = {}
    for name in meta.fk_fields | meta.o2o_fields:
        field = meta.fields_map[name]
        to_field = field.to_field_instance.model_field_name  # type: ignore[attr-defined]
        relations[name] = (f"_{name}", str(field.source_field), to_field)
    # Relations and reverse relations are fetched, not defaulted (their ids are: None).
    for name in meta.fields - meta.fetch_fields:
        field = meta.fields_map[name]
        default = field.default
        if inspect.iscoroutinefunction(default):
            raise TypeError(f"{model.__name__}.{name}: an async default needs the constructor")
        if callable(default):
            fresh.append((name, default))
        elif default is None:
            static[name] = field.get_db_default_value() if field.has_db_default() else None
        elif isinstance(default, (int, float, str, bool, bytes)):
            static[name] = default
        else:
            fresh.append((name, functools.partial(copy.deepcopy, default)))
    return static, fresh, relations


def python_value(model: type[Model], field_name: str, raw: Any) -> Any:
    """A raw column value as the model's field would load it (JSON, datetimes)."""
    return model._meta.fields_map[field_name].to_python_value(raw)


def is_postgres(database_url: str) -> bool:
    return _normalise_url(database_url).startswith("postgres://")


# For Tortoise's own CLI when a developer writes a migration:
#   tortoise -c opsknight.db.TORTOISE_ORM makemigrations
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
