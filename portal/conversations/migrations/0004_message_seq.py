"""Number every conversation's messages 1, 2, 3, … in the order they were stored (Message.seq), and keep the
latest number on the conversation (Conversation.last_seq)."""

from django.db import migrations, models


def number_stored_messages(apps, schema_editor):
    Conversation = apps.get_model("conversations", "Conversation")
    Message = apps.get_model("conversations", "Message")
    for conversation in Conversation.objects.filter(messages__isnull=False).distinct().iterator():
        ids = Message.objects.filter(conversation=conversation).order_by("created_at", "id").values_list(
            "id", flat=True
        )
        for seq, message_id in enumerate(ids, start=1):
            Message.objects.filter(pk=message_id).update(seq=seq)
        Conversation.objects.filter(pk=conversation.pk).update(last_seq=len(ids))


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0003_delivery_sending"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="last_seq",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="message",
            name="seq",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(number_stored_messages, migrations.RunPython.noop),
    ]
