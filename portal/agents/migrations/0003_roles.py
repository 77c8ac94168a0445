"""The roles: one group per role, holding the agents app's custom permissions (agents/roles.py, docs/roles.md).

The tables are copied here rather than imported: a migration must not follow the app's code as it changes."""

from django.db import migrations

PERMS = {
    "handle_conversations": "Can work the queue and their own conversations",
    "view_all_conversations": "Can see every conversation, its context and transcript",
    "reassign_conversation": "Can reassign a conversation or take it over",
    "read_audit": "Can read the audit trail",
    "govern_bot": "Can reach the manager pages (the bot)",
}
GROUPS = {
    "Agents": ["handle_conversations"],
    "Supervisors": ["handle_conversations", "view_all_conversations", "reassign_conversation", "read_audit"],
    "Managers": ["govern_bot"],
    "Admins": list(PERMS),
}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # post_migrate creates permissions only after every migration: this one needs them now.
    content_type, _ = ContentType.objects.get_or_create(app_label="agents", model="agentprofile")
    perms = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in PERMS.items()
    }
    for group_name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*(perms[c] for c in codenames))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="agents", codename__in=list(PERMS)
    ).delete()
    apps.get_model("auth", "Group").objects.filter(name__in=[g for g in GROUPS if g != "Agents"]).delete()


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_agents_group"), ("contenttypes", "0002_remove_content_type_name")]

    operations = [
        migrations.AlterModelOptions(
            name="agentprofile",
            options={"permissions": list(PERMS.items())},
        ),
        migrations.RunPython(create_roles, remove_roles),
    ]
