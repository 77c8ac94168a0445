"""Message.seq is required and unique in its conversation, once 0004 has numbered the stored messages (its own
migration: PostgreSQL does not alter a table with the updates of the same transaction still pending)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0004_message_seq"),
    ]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="seq",
            field=models.PositiveIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(fields=("conversation", "seq"), name="message_seq_once"),
        ),
    ]
