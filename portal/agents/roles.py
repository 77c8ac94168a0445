"""Who may do what: the one module every check asks (the agent socket, the pages, the services).

A role is a Django group holding permissions of the agents app (created by migration 0003; docs/roles.md is the
matrix in prose). A user's access is read in one query (`access_of`), so a socket can read it again on each frame
and a role taken away, or a deactivated user, is refused at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Q, QuerySet

APP_LABEL = "agents"


class Perm(StrEnum):
    """The agents app's custom permissions (AgentProfile.Meta.permissions)."""

    HANDLE = "handle_conversations"  # the queue and own conversations: open, claim, write, resolve, hand back
    VIEW_ALL = "view_all_conversations"  # see every queue and conversation, with its context and transcript
    REASSIGN = "reassign_conversation"  # give a conversation to another agent, or take it over
    READ_AUDIT = "read_audit"  # read the audit trail
    GOVERN_BOT = "govern_bot"  # the manager pages: the bot's training and behaviour
    PROTECT_DATA = "protect_customer_data"  # find, export and erase one customer's data (docs/privacy.md)


PERM_NAMES: dict[Perm, str] = {
    Perm.HANDLE: "Can work the queue and their own conversations",
    Perm.VIEW_ALL: "Can see every conversation, its context and transcript",
    Perm.REASSIGN: "Can reassign a conversation or take it over",
    Perm.READ_AUDIT: "Can read the audit trail",
    Perm.GOVERN_BOT: "Can reach the manager pages (the bot)",
    Perm.PROTECT_DATA: "Can export or erase a customer's data",
}


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"


GROUP_NAMES: dict[Role, str] = {
    Role.AGENT: "Agents",
    Role.SUPERVISOR: "Supervisors",
    Role.MANAGER: "Managers",
    Role.ADMIN: "Admins",
}

# A supervisor works conversations too (a take-over makes them the assigned agent); a manager tunes the bot and
# reads no customer's conversation; an admin holds everything.
ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.AGENT: frozenset({Perm.HANDLE}),
    Role.SUPERVISOR: frozenset({Perm.HANDLE, Perm.VIEW_ALL, Perm.REASSIGN, Perm.READ_AUDIT, Perm.PROTECT_DATA}),
    Role.MANAGER: frozenset({Perm.GOVERN_BOT}),
    Role.ADMIN: frozenset(Perm),
}
# What an admin does in the Django admin: manage people and their roles, read the audit trail. Never delete a user
# (their audit records PROTECT them: deactivate instead) nor touch a record.
ADMIN_MODEL_PERMS: list[tuple[str, str]] = [
    ("auth", "view_user"),
    ("auth", "add_user"),
    ("auth", "change_user"),
    ("auth", "view_group"),
    ("auth", "change_group"),
    ("agents", "view_agentprofile"),
    ("agents", "add_agentprofile"),
    ("agents", "change_agentprofile"),
    ("conversations", "view_auditrecord"),
]


@dataclass(frozen=True)
class Access:
    """What one user may do, as read at one moment."""

    user_id: int | None
    perms: frozenset[Perm]

    def has(self, perm: Perm) -> bool:
        return perm in self.perms

    @property
    def uses_agent_socket(self) -> bool:
        return Perm.HANDLE in self.perms or Perm.VIEW_ALL in self.perms

    def may_read_conversation(self, *, queued: bool, assigned_agent_id: int | None) -> bool:
        """The conversation's context packet and transcript: a supervisor's for any; an agent's for a handoff
        they may claim (queued) or a conversation assigned to them."""
        if Perm.VIEW_ALL in self.perms:
            return True
        return Perm.HANDLE in self.perms and (
            queued or (assigned_agent_id is not None and assigned_agent_id == self.user_id)
        )

    def may_claim(self) -> bool:
        return Perm.HANDLE in self.perms

    def may_reassign(self) -> bool:
        return Perm.REASSIGN in self.perms


NO_ACCESS = Access(user_id=None, perms=frozenset())


def access_of(user: Any) -> Access:
    """The user's permissions now, in one query: none unless the user is active; every one for a superuser.

    In SQL of its own: the agent socket asks on every frame, and the ORM spent about 1.5 ms of CPU building this
    query each time, nearly as much as an agent message's own writes."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NO_ACCESS
    with connection.cursor() as cursor:
        cursor.execute(_access_sql(), [user.pk, APP_LABEL, user.pk, APP_LABEL, user.pk])
        rows = cursor.fetchall()
    if not rows:
        return Access(user_id=user.pk, perms=frozenset())
    if rows[0][0]:  # a superuser
        return Access(user_id=user.pk, perms=frozenset(Perm))
    known = set(Perm)
    return Access(user_id=user.pk, perms=frozenset(Perm(c) for _, c in rows if c in known))


@functools.cache
def _access_sql() -> str:
    """The active user's row with each agents-app codename they hold through a group or directly (one row with a
    null codename if none; no row if inactive or gone)."""
    user, perm, ctype = User._meta.db_table, Permission._meta.db_table, ContentType._meta.db_table
    user_groups = User.groups.through._meta.db_table
    group_perms = Group.permissions.through._meta.db_table
    user_perms = User.user_permissions.through._meta.db_table
    return f"""
        SELECT u.is_superuser, held.codename FROM {user} u LEFT JOIN (
            SELECT p.codename FROM {user_groups} ug
            JOIN {group_perms} gp ON gp.group_id = ug.group_id
            JOIN {perm} p ON p.id = gp.permission_id JOIN {ctype} ct ON ct.id = p.content_type_id
            WHERE ug.user_id = %s AND ct.app_label = %s
            UNION
            SELECT p.codename FROM {user_perms} up
            JOIN {perm} p ON p.id = up.permission_id JOIN {ctype} ct ON ct.id = p.content_type_id
            WHERE up.user_id = %s AND ct.app_label = %s
        ) held ON TRUE
        WHERE u.id = %s AND u.is_active"""


def users_with(perm: Perm) -> QuerySet[User]:
    """Active users holding `perm` through a group, directly or as superusers: e.g. who may be given a
    conversation."""
    return User.objects.filter(
        Q(groups__permissions__codename=perm, groups__permissions__content_type__app_label=APP_LABEL)
        | Q(user_permissions__codename=perm, user_permissions__content_type__app_label=APP_LABEL)
        | Q(is_superuser=True),
        is_active=True,
    ).distinct()


def sync_role_groups() -> None:
    """Give each role's group its permissions, and the admins' group its Django-admin ones (adding, never taking
    away what an admin granted). Run after every migrate and flush (AgentsConfig.ready): a test database's flush
    drops what migration 0003 made."""
    from agents.models import AgentProfile  # models imports this module

    content_type = ContentType.objects.get_for_model(AgentProfile)
    perms = {
        perm: Permission.objects.get_or_create(
            content_type=content_type, codename=perm.value, defaults={"name": PERM_NAMES[perm]}
        )[0]
        for perm in Perm
    }
    for role, group_name in GROUP_NAMES.items():
        Group.objects.get_or_create(name=group_name)[0].permissions.add(*(perms[p] for p in ROLE_PERMS[role]))
    admin_perms = Q()
    for app_label, codename in ADMIN_MODEL_PERMS:
        admin_perms |= Q(content_type__app_label=app_label, codename=codename)
    # Django's own model permissions exist once every app has migrated; a partial migrate adds them next time.
    Group.objects.get(name=GROUP_NAMES[Role.ADMIN]).permissions.add(*Permission.objects.filter(admin_perms))
