from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_reminders')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HandoffNotice',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('schedule', fields.ForeignKeyField('models.Schedule', source_field='schedule_id', db_constraint=True, to_field='id', related_name='handoff_notices', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='handoff_notices_sent', on_delete=OnDelete.CASCADE)),
                ('shift_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('shift_end', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('last_status_code', fields.IntField(null=True)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('token', fields.CharField(null=True, max_length=40)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'handoff_notices', 'app': 'models', 'unique_together': (('schedule', 'user', 'shift_start'),), 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['PrefixedModel'],
        ),
        ops.AddField(
            model_name='User',
            name='handoff_notices',
            field=fields.BooleanField(default=True, db_default=True),
        ),
    ]
