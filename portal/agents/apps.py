from django.apps import AppConfig


class AgentsConfig(AppConfig):
    """Support agents: who is one, their profile (the name customers see), the inbox page. The bottom layer."""

    name = "agents"
