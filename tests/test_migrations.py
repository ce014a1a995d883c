"""The committed migrations match the models, so `opsknight migrate` builds every table."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

# Run in a separate process: the autodetector initialises Tortoise globally, which would
# rebind the models of the running test app.
DETECT = """
import asyncio
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector
from opsknight.db import tortoise_config

async def main():
    config = tortoise_config("sqlite://:memory:")
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    print(len(writers))

asyncio.run(main())
"""


def test_models_have_no_unmigrated_changes() -> None:
    result = subprocess.run(
        [sys.executable, "-c", DETECT], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "0", (
        "models changed without a migration: run "
        "`tortoise -c opsknight.db.TORTOISE_ORM makemigrations`"
    )


async def test_one_active_incident_per_dedup_key_is_a_database_constraint(
    app: object, database_url: str
) -> None:
    from tortoise import connections

    conn = connections.get("default")
    if database_url.startswith("sqlite"):
        _, rows = await conn.execute_query("SELECT sql FROM sqlite_master WHERE name = 'incidents'")
        ddl = rows[0]["sql"]
    else:
        _, rows = await conn.execute_query(
            "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint "
            "WHERE conrelid = 'incidents'::regclass AND contype = 'u'"
        )
        ddl = " ".join(row["def"] for row in rows)
    assert 'UNIQUE ("service_id", "dedup_key", "environment", "active")'.replace(
        '"', ""
    ) in ddl.replace('"', "")


# Migrate a new SQLite file to argv[2], run the statements of argv[3] (JSON), migrate to
# the newest, and print the rows of the query argv[4].
UPGRADE = """
import asyncio, json, sqlite3, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from opsknight.db import tortoise_config

path, target, statements, query = sys.argv[1:5]
config = tortoise_config(f"sqlite://{path}")

async def upgrade(target=None):
    try:
        await migrate(config=config, target=target)
    finally:
        await Tortoise.close_connections()

asyncio.run(upgrade(target))
with sqlite3.connect(path) as db:
    for statement in json.loads(statements):
        db.execute(statement)
asyncio.run(upgrade())
with sqlite3.connect(path) as db:
    print(json.dumps(db.execute(query).fetchall()))
"""


def upgraded(tmp_path: object, target: str, statements: list[str], query: str) -> Any:
    """The rows ``query`` finds after rows written at migration ``target`` were upgraded."""
    result = subprocess.run(
        [sys.executable, "-c", UPGRADE, f"{tmp_path}/upgrade.db", f"models.{target}",
         json.dumps(statements), query],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


_WHEN = "'2026-01-01 00:00:00'"


def test_upgrading_a_database_that_has_rows(tmp_path: object) -> None:
    """Columns added later get a value on the rows that already exist."""
    rows = upgraded(tmp_path, "0003_escalation_engine_and_notifications", [
        "INSERT INTO schedules (id, name, name_key, time_zone, created_at, updated_at) "
        f"VALUES ('sch_old', 'Old', 'old', 'UTC', {_WHEN}, {_WHEN})",
    ], "SELECT revision FROM schedules WHERE id = 'sch_old'")  # fmt: skip
    assert rows == [[0]]


def test_upgrading_keeps_services_unshadowed_and_webhooks_in_their_format(
    tmp_path: object,
) -> None:
    rows = upgraded(tmp_path, "0015_analytics_rollups", [
        "INSERT INTO services (id, name, name_key, urgency_rule, created_at, updated_at) "
        f"VALUES ('svc_old', 'Old', 'old', 'SEVERITY', {_WHEN}, {_WHEN})",
        "INSERT INTO webhooks (id, url, events, enabled, include_test, secret, "
        "consecutive_failures, created_at, updated_at) VALUES ('whk_old', "
        f"'https://example.com', '[\"*\"]', 1, 0, 'whsec_x', 0, {_WHEN}, {_WHEN})",
    ], "SELECT s.shadow, w.format FROM services s, webhooks w "
       "WHERE s.id = 'svc_old' AND w.id = 'whk_old'")  # fmt: skip
    assert rows == [[0, "opsknight"]]


def test_upgrading_keeps_handoff_notices_as_start_notices_and_users_without_end_notices(
    tmp_path: object,
) -> None:
    # SQLite rebuilds the notices table to drop its old unique clause: rows survive.
    rows = upgraded(tmp_path, "0018_shadow_mode", [
        "INSERT INTO users (id, name, email, email_key, role, status, time_zone, created_at, "
        f"updated_at) VALUES ('usr_old', 'Old', 'o@x.io', 'o@x.io', 'RESPONDER', 'ACTIVE', "
        f"'UTC', {_WHEN}, {_WHEN})",
        "INSERT INTO schedules (id, name, name_key, time_zone, revision, created_at, "
        f"updated_at) VALUES ('sch_old', 'Old', 'old', 'UTC', 0, {_WHEN}, {_WHEN})",
        "INSERT INTO handoff_notices (id, schedule_id, user_id, shift_start, shift_end, "
        "payload, status, attempts, created_at) VALUES ('hnd_old', 'sch_old', 'usr_old', "
        f"{_WHEN}, {_WHEN}, '{{}}', 'delivered', 1, {_WHEN})",
    ], "SELECT h.kind, h.status, u.shift_end_notices FROM handoff_notices h, users u "
       "WHERE h.id = 'hnd_old' AND u.id = 'usr_old'")  # fmt: skip
    assert rows == [["start", "delivered", 0]]
