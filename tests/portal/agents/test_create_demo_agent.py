"""`manage.py create_demo_agent` and `create_user --role`: a user who can log in with their role; idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from agents import roles
from agents.models import AgentProfile, display_name

pytestmark = pytest.mark.django_db


def test_creates_an_agent_who_can_log_in() -> None:
    out = StringIO()
    call_command("create_demo_agent", "--username", "alex", "--password", "s3cret-pass", stdout=out)
    user = authenticate(username="alex", password="s3cret-pass")
    assert user is not None and roles.access_of(user).perms == roles.ROLE_PERMS[roles.Role.AGENT]
    assert display_name(user) == "Alex"
    assert "created agent alex" in out.getvalue()


def test_running_it_again_updates_the_same_agent() -> None:
    call_command("create_demo_agent", "--username", "alex", "--password", "first", stdout=StringIO())
    call_command(
        "create_demo_agent",
        "--username",
        "alex",
        "--password",
        "second",
        "--display-name",
        "Alex P.",
        stdout=StringIO(),
    )
    assert authenticate(username="alex", password="second") is not None
    assert AgentProfile.objects.get().display_name == "Alex P."


@pytest.mark.parametrize("role", list(roles.Role))
def test_create_user_gives_exactly_the_role(role: roles.Role) -> None:
    call_command("create_user", "--username=sue", "--password=pw-sue-1", "--role=agent", stdout=StringIO())
    out = StringIO()
    call_command("create_user", "--username=sue", "--password=pw-sue-2", f"--role={role}", stdout=out)
    user = authenticate(username="sue", password="pw-sue-2")
    assert user is not None
    assert roles.access_of(user).perms == roles.ROLE_PERMS[role]  # the earlier role is gone
    assert [g.name for g in user.groups.all()] == [roles.GROUP_NAMES[role]]
    assert user.is_staff == (role == roles.Role.ADMIN)
    assert f"updated {role} sue" in out.getvalue()


def test_an_admin_manages_people_in_the_django_admin_but_deletes_no_one() -> None:
    from django.test import Client

    call_command("create_user", "--username=ada", "--password=pw-ada-1", "--role=admin", stdout=StringIO())
    call_command("create_user", "--username=sue", "--password=pw-sue-1", "--role=supervisor", stdout=StringIO())
    client = Client()
    assert client.login(username="ada", password="pw-ada-1")
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/admin/conversations/auditrecord/").status_code == 200
    sue = authenticate(username="sue", password="pw-sue-1")
    assert sue is not None
    assert client.get(f"/admin/auth/user/{sue.pk}/delete/").status_code == 403
    assert not sue.is_staff  # only admins reach the Django admin
