from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0017_webhook_format')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ShadowMode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enabled', fields.BooleanField(default=False)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('changed_by', fields.CharField(null=True, max_length=255)),
            ],
            options={'table': 'shadow_mode', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Notification',
            name='shadow',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Service',
            name='shadow',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
