"""The conversation state machine: every legal and every illegal transition, the writes and events of each."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from django.db import connection
from portal_support import make_agent, queue_conversation, start_conversation

from conversations import transitions
from conversations.models import Conversation, ConversationStatus, Handoff, Message, Outcome, Sender

pytestmark = pytest.mark.django_db
S = ConversationStatus


def conversation_in(status: str, agent: Any) -> Conversation:
    """A conversation brought to `status` through the transitions themselves."""
    conversation = start_conversation()
    if status != S.BOT:
        queue_conversation(conversation)
    if status in (S.ASSIGNED, S.RESOLVED):
        transitions.conversation_claim(conversation_id=conversation.pk, agent=agent)
    if status == S.RESOLVED:
        transitions.conversation_resolve(conversation_id=conversation.pk, agent=agent)
    conversation.refresh_from_db()
    assert conversation.status == status
    return conversation


def move(conversation: Conversation, target: str, agent: Any) -> None:
    """The transition that leads to `target`."""
    if target == S.QUEUED:
        queue_conversation(conversation)
    elif target == S.ASSIGNED:
        transitions.conversation_claim(conversation_id=conversation.pk, agent=agent)
    elif target == S.RESOLVED:
        transitions.conversation_resolve(conversation_id=conversation.pk, agent=agent)
    else:
        transitions.conversation_hand_back(conversation_id=conversation.pk, agent=agent)


LEGAL = {(S.BOT, S.QUEUED), (S.QUEUED, S.ASSIGNED), (S.ASSIGNED, S.RESOLVED), (S.ASSIGNED, S.BOT)}
ALL_PAIRS = list(itertools.product(S.values, S.values))


def test_the_table_is_the_documented_machine() -> None:
    assert {(a, b) for a, targets in transitions.ALLOWED.items() for b in targets} == LEGAL


@pytest.mark.parametrize("current,target", sorted(LEGAL))
def test_legal_transition_is_persisted(current: str, target: str, alex: Any) -> None:
    conversation = conversation_in(current, alex)
    move(conversation, target, alex)
    conversation.refresh_from_db()
    assert conversation.status == target


@pytest.mark.parametrize("current,target", sorted(set(ALL_PAIRS) - LEGAL))
def test_illegal_transition_raises_and_changes_nothing(current: str, target: str, alex: Any) -> None:
    conversation = conversation_in(current, alex)
    before = (Handoff.objects.count(), Message.objects.count())
    with pytest.raises(transitions.IllegalTransition) as raised:
        move(conversation, target, alex)
    assert (raised.value.current, raised.value.target) == (current, target)
    conversation.refresh_from_db()
    assert conversation.status == current
    assert (Handoff.objects.count(), Message.objects.count()) == before


def test_claim_assigns_tells_the_customer_and_publishes_after_commit(
    alex: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = conversation_in(S.QUEUED, alex)
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("conversations.events._send", lambda group, event: sent.append((group, event)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
    assert sent == []  # nothing goes out before the commit
    for callback in callbacks:
        callback()
    handoff = Handoff.objects.get(conversation=conversation)
    assert handoff.claimed_by == alex and handoff.claimed_at is not None
    notice = Message.objects.get(conversation=conversation, sender=Sender.SYSTEM)
    assert notice.text == "Alex joined the conversation"
    group = f"conversation.{conversation.pk}"
    assert [(g, e["type"]) for g, e in sent] == [
        (group, "conversation.status_changed"),
        (group, "message.created"),
        ("agents", "handoff.changed"),
    ]
    assert sent[0][1]["status"] == "assigned" and sent[0][1]["agent"] == {"display_name": "Alex"}
    assert sent[2][1]["handoff"]["status"] == "assigned"


def test_only_the_assigned_agent_may_resolve_or_hand_back(alex: Any) -> None:
    sam = make_agent("sam", "Sam")
    conversation = conversation_in(S.ASSIGNED, alex)
    for act in (transitions.conversation_resolve, transitions.conversation_hand_back):
        with pytest.raises(transitions.NotAssignedAgent):
            act(conversation_id=conversation.pk, agent=sam)
    conversation.refresh_from_db()
    assert conversation.status == S.ASSIGNED


def test_a_second_claim_loses(alex: Any) -> None:
    sam = make_agent("sam", "Sam")
    conversation = conversation_in(S.QUEUED, alex)
    transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
    with pytest.raises(transitions.IllegalTransition):
        transitions.conversation_claim(conversation_id=conversation.pk, agent=sam)
    assert Handoff.objects.get(conversation=conversation).claimed_by == alex


def test_resolve_and_hand_back_close_the_handoff_with_their_outcome(alex: Any) -> None:
    resolved = conversation_in(S.RESOLVED, alex)
    assert Handoff.objects.get(conversation=resolved).outcome == Outcome.RESOLVED
    assert resolved.resolved_at is not None

    returned = conversation_in(S.ASSIGNED, alex)
    transitions.conversation_hand_back(conversation_id=returned.pk, agent=alex)
    returned.refresh_from_db()
    handoff = Handoff.objects.get(conversation=returned)
    assert (returned.assigned_agent, handoff.outcome) == (None, Outcome.HANDED_BACK)
    assert handoff.closed_at is not None


def test_a_conversation_handed_back_can_be_queued_again(alex: Any) -> None:
    conversation = conversation_in(S.ASSIGNED, alex)
    transitions.conversation_hand_back(conversation_id=conversation.pk, agent=alex)
    queue_conversation(conversation, reason="frustration")
    assert Handoff.objects.filter(conversation=conversation).count() == 2
    assert (
        Handoff.objects.filter(conversation=conversation, closed_at__isnull=True).get().reason
        == "frustration"
    )


@pytest.mark.django_db(transaction=True)
def test_two_agents_claiming_at_once_one_wins(alex: Any) -> None:
    sam = make_agent("sam", "Sam")
    conversation = conversation_in(S.QUEUED, alex)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(agent: Any) -> None:
        barrier.wait()
        try:
            transitions.conversation_claim(conversation_id=conversation.pk, agent=agent)
            outcomes[agent.username] = "won"
        except transitions.IllegalTransition:
            outcomes[agent.username] = "lost"
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(agent,)) for agent in (alex, sam)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["lost", "won"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    assert Handoff.objects.get(conversation=conversation).claimed_by.username == winner
    assert Message.objects.filter(conversation=conversation, sender=Sender.SYSTEM).count() == 1
