"""Rasa input channels of the bot (named in credentials.yml)."""
