"""`manage.py create_demo_agent --username alex --password ... [--display-name Alex]`: an agent who can log in
(`create_user --role agent`, kept for `./switchboard run` and the benchmarks).

Idempotent: run again, it resets the password and display name of the same user.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from agents.roles import Role
from agents.services import user_set_up


class Command(BaseCommand):
    help = "Create (or update) an agent user in the Agents group, for the demo."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument(
            "--display-name", default="", help="the name customers see (default: the username, capitalised)"
        )

    def handle(self, *args: Any, username: str, password: str, display_name: str, **options: Any) -> None:
        _, created = user_set_up(
            username=username, password=password, role=Role.AGENT, display_name=display_name
        )
        self.stdout.write(f"{'created' if created else 'updated'} agent {username}")
