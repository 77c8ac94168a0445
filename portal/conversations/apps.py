from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    """A customer's conversation, its messages, its handoffs and their context packets, its state machine, the
    delivery to the bot, and the customer socket. Builds on agents and bot_gateway; the handoff app builds on it."""

    name = "conversations"
