from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

OLD_UNIQUE = ["schedule", "user", "shift_start"]


def _on_sqlite(editor: object) -> bool:
    return getattr(editor, "client").capabilities.dialect == "sqlite"


class RemoveUniqueClause(ops.RemoveConstraint):
    """SQLite keeps a UNIQUE clause inside its CREATE TABLE, where it cannot be dropped:
    there the table is rebuilt without it (``rebuild_without_old_unique``) instead."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):  # type: ignore[no-untyped-def]
        if state_editor is not None and _on_sqlite(state_editor):
            return
        await super().database_forward(app_label, old_state, new_state, state_editor)


async def rebuild_without_old_unique(apps: object, editor: object) -> None:
    """SQLite only: copy handoff_notices into a table made without the old UNIQUE clause,
    then put back its indexes (the new unique one among them)."""
    if not _on_sqlite(editor):
        return
    client = getattr(editor, "client")
    _, rows = await client.execute_query(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'handoff_notices'"
    )
    table_sql = next(r["sql"] for r in rows if r["type"] == "table")
    index_sqls = [r["sql"] for r in rows if r["type"] == "index" and r["sql"]]
    start = table_sql.index(',\n    CONSTRAINT "uid_handoff_not_schedul_036a12" UNIQUE')
    end = table_sql.index(")", table_sql.index("UNIQUE", start)) + 1
    new_sql = (table_sql[:start] + table_sql[end:]).replace(
        'CREATE TABLE "handoff_notices"', 'CREATE TABLE "new__handoff_notices"', 1
    )
    _, columns = await client.execute_query('PRAGMA table_info("handoff_notices")')
    names = ", ".join(f'"{c["name"]}"' for c in columns)
    await client.execute_query(new_sql)
    await client.execute_query(
        f'INSERT INTO "new__handoff_notices" ({names}) SELECT {names} FROM "handoff_notices"'
    )
    await client.execute_query('DROP TABLE "handoff_notices"')
    await client.execute_query('ALTER TABLE "new__handoff_notices" RENAME TO "handoff_notices"')
    for index_sql in index_sqls:
        await client.execute_query(index_sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0018_shadow_mode")]

    initial = False

    operations = [
        RemoveUniqueClause(model_name="HandoffNotice", name=None, fields=OLD_UNIQUE),
        ops.AddField(
            model_name="HandoffNotice",
            name="kind",
            field=fields.CharField(default="start", db_default="start", max_length=8),
        ),
        ops.AddConstraint(
            model_name="HandoffNotice",
            constraint=UniqueConstraint(
                fields=("schedule", "user", "shift_start", "kind"), name=None
            ),
        ),
        ops.RunPython(rebuild_without_old_unique),
        ops.AddField(
            model_name="User",
            name="shift_end_notices",
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
