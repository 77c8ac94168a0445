"""Reads of handoffs: the agents' inbox."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from conversations.models import ConversationStatus, Handoff


def _handoffs() -> QuerySet[Handoff]:
    return Handoff.objects.select_related("conversation", "claimed_by__agent_profile")


def inbox_for_agent(agent: Any) -> list[Handoff]:
    """Every open handoff still queued, and every one assigned to `agent`: those within their address's flood
    limit first (conversations/limits.py), then most urgent, then oldest."""
    open_handoffs = (
        _handoffs()
        .filter(closed_at__isnull=True)
        .filter(
            Q(conversation__status=ConversationStatus.QUEUED)
            | Q(conversation__status=ConversationStatus.ASSIGNED, conversation__assigned_agent=agent)
        )
    )
    return sorted(open_handoffs, key=lambda h: (h.over_limit, -h.priority_enum.rank, h.queued_at))


def latest_handoff(conversation_id: uuid.UUID | str) -> Handoff | None:
    return _handoffs().filter(conversation_id=conversation_id).order_by("-queued_at", "-id").first()
