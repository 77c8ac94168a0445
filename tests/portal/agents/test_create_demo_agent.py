"""`manage.py create_demo_agent`: a user who can log in and open the agent socket; idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from agents.models import AgentProfile, display_name, is_agent

pytestmark = pytest.mark.django_db


def test_creates_an_agent_who_can_log_in() -> None:
    out = StringIO()
    call_command("create_demo_agent", "--username", "alex", "--password", "s3cret-pass", stdout=out)
    user = authenticate(username="alex", password="s3cret-pass")
    assert user is not None and is_agent(user)
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
