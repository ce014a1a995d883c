from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_notification_links')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NotificationRule',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notification_rules', on_delete=OnDelete.CASCADE)),
                ('contact_method', fields.ForeignKeyField('models.ContactMethod', source_field='contact_method_id', db_constraint=True, to_field='id', related_name='rules', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('delay_minutes', fields.IntField()),
                ('urgency', fields.CharField(max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification_rules', 'app': 'models', 'pk_attr': 'id'},
            bases=['PrefixedModel'],
        ),
    ]
