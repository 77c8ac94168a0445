"""Contracts shared by the bot (Python 3.10, rasa-sdk) and the portal (Django): plain Python, no dependencies."""
