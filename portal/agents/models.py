"""An agent is a Django user in the "Agents" group (or staff); the profile holds what customers see of them."""

from __future__ import annotations

from typing import TypeGuard

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.db import models

AGENTS_GROUP = "Agents"


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    display_name = models.CharField(max_length=80)

    def __str__(self) -> str:
        return self.display_name


def is_agent(user: AbstractBaseUser | AnonymousUser) -> TypeGuard[User]:
    # Switchboard keeps Django's own user model (no AUTH_USER_MODEL), so an agent is a signed-in `User`; a
    # Channels scope's lazy user passes isinstance as the user it wraps.
    return bool(
        isinstance(user, User)
        and user.is_active
        and (user.is_staff or user.groups.filter(name=AGENTS_GROUP).exists())
    )


def display_name(user: User) -> str:
    """The name a customer sees: the profile's, else the user's first name, else the username."""
    try:
        return user.agent_profile.display_name
    except AgentProfile.DoesNotExist:
        return user.first_name or user.get_username()
