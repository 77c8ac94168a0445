"""`manage.py create_demo_agent --username alex --password ... [--display-name Alex]`: an agent who can log in.

Idempotent: run again, it resets the password and display name of the same user.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from agents.models import AGENTS_GROUP, AgentProfile


class Command(BaseCommand):
    help = "Create (or update) an agent user in the Agents group, for the demo."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument(
            "--display-name", default="", help="the name customers see (default: the username, capitalised)"
        )

    @transaction.atomic
    def handle(self, *args: Any, username: str, password: str, display_name: str, **options: Any) -> None:
        user, created = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.save()
        user.groups.add(Group.objects.get_or_create(name=AGENTS_GROUP)[0])
        AgentProfile.objects.update_or_create(
            user=user, defaults={"display_name": display_name or username.capitalize()}
        )
        self.stdout.write(f"{'created' if created else 'updated'} agent {username}")
