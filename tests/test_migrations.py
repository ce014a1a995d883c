"""The committed migrations match the models, so `opsknight migrate` builds every table."""

from __future__ import annotations

import subprocess
import sys

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


UPGRADE = """
import asyncio, sqlite3, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from opsknight.db import tortoise_config

path = sys.argv[1]
config = tortoise_config(f"sqlite://{path}")

async def upgrade(target=None):
    try:
        await migrate(config=config, target=target)
    finally:
        await Tortoise.close_connections()

asyncio.run(upgrade("models.0003_escalation_engine_and_notifications"))
with sqlite3.connect(path) as db:
    db.execute(
        "INSERT INTO schedules (id, name, name_key, time_zone, created_at, updated_at) "
        "VALUES ('sch_old', 'Old', 'old', 'UTC', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
asyncio.run(upgrade())
with sqlite3.connect(path) as db:
    print(db.execute("SELECT revision FROM schedules WHERE id = 'sch_old'").fetchone()[0])
"""


def test_upgrading_a_database_that_has_rows(tmp_path: object) -> None:
    """Columns added later get a value on the rows that already exist."""
    result = subprocess.run(
        [sys.executable, "-c", UPGRADE, f"{tmp_path}/upgrade.db"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
