"""Rasa event brokers of the bot (named in endpoints.yml)."""
