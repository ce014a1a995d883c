from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    # One counter row per environment exists before the first incident, so concurrent
    # first incidents never race to insert it.
    operations = [
        ops.RunSQL(
            "INSERT INTO incident_counters (environment, value) VALUES ('live', 0), ('test', 0)",
            reverse_sql="DELETE FROM incident_counters",
        ),
    ]
