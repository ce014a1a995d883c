from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_heartbeats')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Incident',
            name='ack_timeout_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Incident',
            name='ack_timeout_minutes',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Incident',
            name='auto_resolve_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Incident',
            index=Index(fields=['ack_timeout_at']),
        ),
        ops.AddIndex(
            model_name='Incident',
            index=Index(fields=['auto_resolve_at']),
        ),
        ops.AddField(
            model_name='Service',
            name='acknowledgement_timeout',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Service',
            name='auto_resolve_timeout',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Service',
            name='support_hours',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Service',
            name='urgency_rule',
            field=fields.CharField(default='SEVERITY', db_default='SEVERITY', max_length=16),
        ),
    ]
