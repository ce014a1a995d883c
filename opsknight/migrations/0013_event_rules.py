from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_service_behaviours')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EventRule',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('service', fields.ForeignKeyField('models.Service', source_field='service_id', null=True, db_constraint=True, to_field='id', related_name='event_rules', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('description', fields.CharField(default='', max_length=255)),
                ('conditions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('actions', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('disabled', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'event_rules', 'app': 'models', 'indexes': [Index(fields=['service_id', 'position'])], 'pk_attr': 'id'},
            bases=['PrefixedModel'],
        ),
        ops.CreateModel(
            name='SuspendedEvent',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('service', fields.ForeignKeyField('models.Service', source_field='service_id', db_constraint=True, to_field='id', related_name='suspended_events', on_delete=OnDelete.CASCADE)),
                ('environment', fields.CharField(default='live', max_length=8)),
                ('dedup_key', fields.CharField(max_length=255)),
                ('integration', fields.ForeignKeyField('models.Integration', source_field='integration_id', null=True, db_constraint=True, to_field='id', related_name='suspended_events', on_delete=OnDelete.SET_NULL)),
                ('actor', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('event', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='PENDING', max_length=16)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('incident_id', fields.CharField(null=True, max_length=40)),
            ],
            options={'table': 'suspended_events', 'app': 'models', 'indexes': [Index(fields=['status', 'due_at']), Index(fields=['service_id', 'dedup_key', 'environment'])], 'pk_attr': 'id'},
            bases=['PrefixedModel'],
        ),
        ops.AddField(
            model_name='Alert',
            name='trace',
            field=fields.JSONField(null=True, default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
