from django.apps import AppConfig


class AgentsConfig(AppConfig):
    """Support agents: their profile, the agent socket, the inbox pages."""

    name = "agents"
