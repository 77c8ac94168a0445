"""Reads of handoffs: the agents' inbox."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from agents import roles
from conversations.models import ConversationStatus, Handoff


def _handoffs() -> QuerySet[Handoff]:
    return Handoff.objects.select_related("conversation", "claimed_by__agent_profile")


def inbox_for(access: roles.Access) -> list[Handoff]:
    """Every open handoff still queued, and every one assigned to this user (to anyone, for a user who may see
    every conversation): those within their address's flood limit first (conversations/limits.py), then most
    urgent, then oldest."""
    open_handoffs = _handoffs().filter(closed_at__isnull=True)
    if not access.has(roles.Perm.VIEW_ALL):
        open_handoffs = open_handoffs.filter(
            Q(conversation__status=ConversationStatus.QUEUED)
            | Q(conversation__status=ConversationStatus.ASSIGNED, conversation__assigned_agent_id=access.user_id)
        )
    return sorted(open_handoffs, key=lambda h: (h.over_limit, -h.priority_enum.rank, h.queued_at))


def assignable_agents(access: roles.Access) -> list[User]:
    """Who this user may give a conversation to: every active agent, for a user who may reassign; else none."""
    if not access.may_reassign():
        return []
    return list(roles.users_with(roles.Perm.HANDLE).select_related("agent_profile").order_by("username"))


def latest_handoff(conversation_id: uuid.UUID | str) -> Handoff | None:
    return _handoffs().filter(conversation_id=conversation_id).order_by("-queued_at", "-id").first()
