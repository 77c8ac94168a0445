# The Handoff model moved to the conversations app (whose transitions open and close it). Its table stays
# handoff_handoff: this and conversations/0002 change Django's model state only, never the database.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("handoff", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Handoff")],
            database_operations=[],
        ),
    ]
