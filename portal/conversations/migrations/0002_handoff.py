# The Handoff model, moved here from the handoff app with its table (handoff_handoff) as it was: model state
# only, no database change. After handoff/0002 removed it from that app's state, so the two never overlap.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0001_initial"),
        ("handoff", "0002_handoff_moves_to_conversations"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Handoff",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("reason", models.CharField(choices=[("explicit_request", "Customer asked for a person"), ("sensitive_topic", "Sensitive topic"), ("low_confidence", "Bot could not understand"), ("repeated_fallback", "Repeated misunderstandings"), ("frustration", "Customer frustrated"), ("out_of_scope_offer_accepted", "Out of scope, customer accepted a person"), ("verification_failed", "Verification failed"), ("bot_unavailable", "Bot unavailable")], max_length=40)),
                        ("priority", models.CharField(choices=[("low", "Low"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent")], default="normal", max_length=16)),
                        ("context", models.JSONField()),
                        ("queued_at", models.DateTimeField()),
                        ("priority_changed_at", models.DateTimeField()),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("closed_at", models.DateTimeField(blank=True, null=True)),
                        ("outcome", models.CharField(blank=True, choices=[("resolved", "Resolved"), ("handed_back", "Handed Back")], default="", max_length=16)),
                        ("claimed_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("conversation", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="handoffs", to="conversations.conversation")),
                    ],
                    options={
                        "db_table": "handoff_handoff",
                        "ordering": ["queued_at", "id"],
                        "constraints": [models.UniqueConstraint(condition=models.Q(("closed_at__isnull", True)), fields=("conversation",), name="one_open_handoff")],
                    },
                ),
            ],
        ),
    ]
