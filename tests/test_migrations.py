"""The committed migrations match the models, so `opsknight migrate` builds every table."""

from __future__ import annotations

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from opsknight.db import tortoise_config


async def test_models_have_no_unmigrated_changes(tmp_path) -> None:
    config = tortoise_config(f"sqlite://{tmp_path / 'detect.db'}")
    async with tortoise_cli_context(config) as ctx:
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
    assert writers == [], (
        "models changed without a migration: run `tortoise -c opsknight.db.TORTOISE_ORM makemigrations`"
    )
