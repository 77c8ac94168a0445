"""Beat raises the priority of handoffs left waiting, one step per interval, and tells every agent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from portal_support import queue_conversation, start_conversation

from conversations import transitions
from conversations.models import Handoff
from handoff.tasks import raise_waiting_priorities

pytestmark = pytest.mark.django_db


def waited(handoff: Handoff, seconds: int) -> None:
    Handoff.objects.filter(pk=handoff.pk).update(
        priority_changed_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_handoff_waiting_too_long_is_raised_once_per_interval(
    settings: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    settings.HANDOFF_PRIORITY_RAISE_AFTER_SECONDS = 60
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("conversations.events._send", lambda group, event: sent.append((group, event)))
    old = queue_conversation(start_conversation(), priority="normal")
    new = queue_conversation(start_conversation(), priority="normal")
    waited(old, 61)
    sent.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert raise_waiting_priorities() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.priority, new.priority) == ("high", "normal")
    assert [(g, e["type"], e["handoff"]["priority"]) for g, e in sent] == [
        ("agents", "handoff.changed", "high")
    ]
    assert raise_waiting_priorities() == 0  # the interval starts again at the new priority


def test_urgent_stays_urgent_and_claimed_handoffs_are_left_alone(settings: Any, alex: Any) -> None:
    settings.HANDOFF_PRIORITY_RAISE_AFTER_SECONDS = 60
    urgent = queue_conversation(start_conversation(), priority="urgent")
    claimed = queue_conversation(start_conversation(), priority="low")
    transitions.conversation_claim(conversation_id=claimed.conversation_id, agent=alex)
    waited(urgent, 600)
    waited(claimed, 600)
    assert raise_waiting_priorities() == 0
    claimed.refresh_from_db()
    assert claimed.priority == "low"
