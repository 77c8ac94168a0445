"""agents.roles.access_of, in its own SQL: what each kind of user holds, read at the moment it is asked."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from portal_support import make_agent

from agents.roles import GROUP_NAMES, ROLE_PERMS, Perm, Role, access_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", list(Role))
def test_a_role_holds_its_groups_permissions(role: Role) -> None:
    user = make_agent(f"u-{role}", "U", role=role)
    assert access_of(user).perms == ROLE_PERMS[role]
    assert access_of(user).user_id == user.pk


def test_two_roles_hold_both_and_a_direct_permission_counts_too() -> None:
    user = make_agent("both", "Both", role="agent")
    user.groups.add(Group.objects.get(name=GROUP_NAMES[Role.MANAGER]))
    user.user_permissions.add(Permission.objects.get(codename=Perm.READ_AUDIT, content_type__app_label="agents"))
    assert access_of(user).perms == {Perm.HANDLE, Perm.GOVERN_BOT, Perm.READ_AUDIT}


def test_a_permission_of_another_app_is_no_access() -> None:
    user = User.objects.create_user("admin-only", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="auth"))
    assert access_of(user).perms == frozenset()
    assert not access_of(user).uses_agent_socket


def test_a_superuser_holds_every_permission_without_any_group() -> None:
    user = User.objects.create_superuser("root", password="pw")
    assert access_of(user).perms == frozenset(Perm)


def test_a_deactivated_or_deleted_user_holds_nothing_at_once() -> None:
    user = make_agent("leaver", "Leaver", role="supervisor")
    User.objects.filter(pk=user.pk).update(is_active=False)  # the instance in hand still says active
    assert access_of(user).perms == frozenset()
    admin = User.objects.create_superuser("root", password="pw")
    User.objects.filter(pk=admin.pk).update(is_active=False)
    assert access_of(admin).perms == frozenset()
    User.objects.filter(pk=user.pk).delete()
    assert access_of(user).perms == frozenset()


def test_a_role_taken_away_is_gone_on_the_next_read() -> None:
    user = make_agent("moved", "Moved", role="agent")
    assert access_of(user).may_claim()
    user.groups.clear()
    assert not access_of(user).may_claim()


def test_no_user_or_an_anonymous_one_holds_nothing() -> None:
    from django.contrib.auth.models import AnonymousUser

    assert access_of(None).perms == frozenset()
    assert access_of(AnonymousUser()).perms == frozenset()
