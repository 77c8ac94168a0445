from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    """A customer's conversation, its messages, its state machine, and the customer socket."""

    name = "conversations"
