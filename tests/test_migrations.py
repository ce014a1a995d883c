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
