from django.apps import AppConfig


class HandoffConfig(AppConfig):
    """The queue of conversations waiting for a person, their context packets and priorities."""

    name = "handoff"
