from django.db import migrations

AGENTS_GROUP = "Agents"  # agents.models.AGENTS_GROUP (migrations must not import app code)


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=AGENTS_GROUP)


class Migration(migrations.Migration):
    dependencies = [("agents", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
