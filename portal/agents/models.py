"""An agent is a Django user whose role lets them work conversations (agents/roles.py); the profile holds what
customers see of them, and its model carries the roles' permissions."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models

from agents.roles import GROUP_NAMES, PERM_NAMES, Perm, Role

AGENTS_GROUP = GROUP_NAMES[Role.AGENT]


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    display_name = models.CharField(max_length=80)

    class Meta:
        permissions = [(perm.value, PERM_NAMES[perm]) for perm in Perm]

    def __str__(self) -> str:
        return self.display_name


def display_name(user: User) -> str:
    """The name a customer sees: the profile's, else the user's first name, else the username."""
    try:
        return user.agent_profile.display_name
    except AgentProfile.DoesNotExist:
        return user.first_name or user.get_username()
