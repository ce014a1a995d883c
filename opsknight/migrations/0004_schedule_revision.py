from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_escalation_engine_and_notifications')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Schedule',
            name='revision',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
