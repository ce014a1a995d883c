from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_integration_key_length')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Webhook',
            name='format',
            field=fields.CharField(default='opsknight', db_default='opsknight', max_length=16),
        ),
    ]
