from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgentsConfig(AppConfig):
    """Support agents: who is one, their role (roles.py), their profile (the name customers see), the agent
    portal's pages. The bottom layer."""

    name = "agents"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, sender=self)


def _sync_roles(sender: Any, **kwargs: Any) -> None:
    from agents.roles import sync_role_groups

    sync_role_groups()
