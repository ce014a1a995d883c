from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_audit_log')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IncidentDayDurations',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('environment', fields.CharField(max_length=8)),
                ('day', fields.CharField(max_length=10)),
                ('acknowledge', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('resolve', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'incident_day_durations', 'app': 'models', 'unique_together': (('environment', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IncidentRollup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('environment', fields.CharField(max_length=8)),
                ('day', fields.CharField(max_length=10)),
                ('service_id', fields.CharField(max_length=40)),
                ('urgency', fields.CharField(max_length=8)),
                ('incidents', fields.IntField()),
                ('alerts', fields.IntField()),
                ('acknowledged', fields.IntField()),
                ('acknowledge_seconds', fields.FloatField()),
                ('resolved', fields.IntField()),
                ('resolve_seconds', fields.FloatField()),
            ],
            options={'table': 'incident_rollups', 'app': 'models', 'indexes': [Index(fields=['environment', 'day'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RollupRefresh',
            fields=[
                ('environment', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=8)),
                ('through', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'rollup_refreshes', 'app': 'models', 'pk_attr': 'environment'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Incident',
            index=Index(fields=['environment', 'updated_at']),
        ),
    ]
