"""An agent is a Django user in the "Agents" group (or staff); the profile holds what customers see of them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

AGENTS_GROUP = "Agents"


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    display_name = models.CharField(max_length=80)

    def __str__(self) -> str:
        return self.display_name


def is_agent(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_staff or user.groups.filter(name=AGENTS_GROUP).exists())
    )


def display_name(user: AbstractBaseUser) -> str:
    """The name a customer sees: the profile's, else the user's first name, else the username."""
    try:
        return user.agent_profile.display_name  # type: ignore[attr-defined]
    except AgentProfile.DoesNotExist:
        return user.first_name or user.get_username()
