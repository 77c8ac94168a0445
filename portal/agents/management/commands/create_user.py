"""`manage.py create_user --username sue --password ... --role supervisor [--display-name Sue]`: a user who can
log in, with one role (agents/roles.py, docs/roles.md). Idempotent: run again, it resets the password, the role
and the display name of the same user."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from agents.roles import Role
from agents.services import user_set_up


class Command(BaseCommand):
    help = "Create (or update) a user with a role: agent, supervisor, manager or admin."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=[role.value for role in Role])
        parser.add_argument(
            "--display-name", default="", help="the name customers see (default: the username, capitalised)"
        )

    def handle(
        self, *args: Any, username: str, password: str, role: str, display_name: str, **options: Any
    ) -> None:
        _, created = user_set_up(
            username=username, password=password, role=Role(role), display_name=display_name
        )
        self.stdout.write(f"{'created' if created else 'updated'} {role} {username}")
