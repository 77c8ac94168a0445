"""The data-protection permission (agents/roles.py, docs/privacy.md), held by supervisors and admins.

The names are copied here rather than imported: a migration must not follow the app's code as it changes."""

from django.db import migrations

PERMS = {
    "handle_conversations": "Can work the queue and their own conversations",
    "view_all_conversations": "Can see every conversation, its context and transcript",
    "reassign_conversation": "Can reassign a conversation or take it over",
    "read_audit": "Can read the audit trail",
    "govern_bot": "Can reach the manager pages (the bot)",
    "protect_customer_data": "Can export or erase a customer's data",
}
CODENAME = "protect_customer_data"
GROUPS = ["Supervisors", "Admins"]


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="agents", model="agentprofile")
    perm, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=CODENAME, defaults={"name": PERMS[CODENAME]}
    )
    for name in GROUPS:
        Group.objects.get_or_create(name=name)[0].permissions.add(perm)


def revoke(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="agents", codename=CODENAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("agents", "0003_roles")]

    operations = [
        migrations.AlterModelOptions(name="agentprofile", options={"permissions": list(PERMS.items())}),
        migrations.RunPython(grant, revoke),
    ]
