from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_event_rules')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('action', fields.CharField(max_length=64)),
                ('resource_type', fields.CharField(max_length=32)),
                ('resource_id', fields.CharField(max_length=40)),
                ('actor_type', fields.CharField(max_length=16)),
                ('actor_id', fields.CharField(null=True, max_length=40)),
                ('actor_name', fields.CharField(null=True, max_length=255)),
                ('api_key_id', fields.CharField(null=True, max_length=40)),
                ('session_id', fields.CharField(null=True, max_length=40)),
                ('ip', fields.CharField(null=True, max_length=64)),
                ('changes', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'audit_entries', 'app': 'models', 'indexes': [Index(fields=['at']), Index(fields=['resource_type', 'resource_id']), Index(fields=['actor_id', 'at'])], 'pk_attr': 'id'},
            bases=['PrefixedModel'],
        ),
    ]
