from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_maintenance_windows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Heartbeat',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('service', fields.ForeignKeyField('models.Service', source_field='service_id', db_constraint=True, to_field='id', related_name='heartbeats', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=255)),
                ('token', fields.CharField(unique=True, max_length=32)),
                ('interval_seconds', fields.IntField()),
                ('grace_seconds', fields.IntField(default=0)),
                ('status', fields.CharField(default='NEW', max_length=8)),
                ('last_ping_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'heartbeats', 'app': 'models', 'indexes': [Index(fields=['status', 'due_at'])], 'pk_attr': 'id'},
            bases=['PrefixedModel'],
        ),
    ]
