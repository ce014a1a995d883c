from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_notification_rules')]

    initial = False

    operations = [
        ops.AddField(
            model_name='EscalationPolicy',
            name='ack_reminder_minutes',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='EscalationPolicy',
            name='reminder_minutes',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Incident',
            name='reminder_due_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Incident',
            name='reminders_sent',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddIndex(
            model_name='Incident',
            index=Index(fields=['reminder_due_at']),
        ),
    ]
