from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0015_analytics_rollups')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Integration',
            name='key',
            field=fields.CharField(unique=True, max_length=64),
        ),
    ]
