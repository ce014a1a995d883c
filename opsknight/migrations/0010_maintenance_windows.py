from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_web_sessions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MaintenanceWindow',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('name', fields.CharField(max_length=255)),
                ('service_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('days', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('start_time', fields.CharField(null=True, max_length=5)),
                ('duration_minutes', fields.IntField(null=True)),
                ('time_zone', fields.CharField(default='UTC', max_length=64)),
                ('until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolve_on_end', fields.BooleanField(default=False)),
                ('reopen_on_end', fields.BooleanField(default=False)),
                ('handled_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'maintenance_windows', 'app': 'models', 'pk_attr': 'id'},
            bases=['PrefixedModel'],
        ),
        ops.AddField(
            model_name='Incident',
            name='maintenance_window_id',
            field=fields.CharField(null=True, max_length=40),
        ),
    ]
