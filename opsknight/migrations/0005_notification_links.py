from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_schedule_revision')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Notification',
            name='link_digest',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
    ]
