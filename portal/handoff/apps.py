from django.apps import AppConfig


class HandoffConfig(AppConfig):
    """The agents' inbox: the agent socket, the queue as agents see it, priority escalation, the hand back to the
    bot, the audit trail's page. The top app: it builds on conversations (whose transitions open and close each
    Handoff) and agents."""

    name = "handoff"

    def ready(self) -> None:
        from handoff import signals  # noqa: F401  # connects the receivers that close a user's sockets
