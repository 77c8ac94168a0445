"""Writes of agents: a user given a role (the management commands create_user and create_demo_agent)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import transaction

from agents.models import AgentProfile
from agents.roles import GROUP_NAMES, Role


@transaction.atomic
def user_set_up(*, username: str, password: str, role: Role, display_name: str = "") -> tuple[User, bool]:
    """Create or update `username` with this password, active, in exactly one role's group; (user, created).
    An admin is also staff (the Django admin). The display name defaults to the username, capitalised."""
    user, created = User.objects.get_or_create(username=username)
    user.set_password(password)
    user.is_active = True
    user.is_staff = role == Role.ADMIN
    user.save()
    user.groups.remove(*Group.objects.filter(name__in=GROUP_NAMES.values()).exclude(name=GROUP_NAMES[role]))
    user.groups.add(Group.objects.get_or_create(name=GROUP_NAMES[role])[0])
    AgentProfile.objects.update_or_create(
        user=user, defaults={"display_name": display_name or username.capitalize()}
    )
    return user, created
