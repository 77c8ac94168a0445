"""Erasure and export (conversations/privacy.py, docs/privacy.md): which rows go and which stay, exactly; the
retention job in batches, idempotent, never a conversation a customer waits on; the bot's trackers erased through
the gateway, and a bot that was down asked again on the next run without one being forgotten."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from portal_support import (
    open_customer_socket,
    queue_conversation,
    socket_headers,
    start_conversation,
    store_message,
)

from config.asgi import application
from conversations import privacy, transitions
from conversations.models import (
    AuditAction,
    AuditRecord,
    Conversation,
    Delivery,
    Handoff,
    Message,
    TrackerErasure,
)
from conversations.sessions import session_token
from conversations.tasks import erase_bot_trackers, erase_expired_conversations
from tuning.models import NluRecord, Review, TrainingExample, Verdict

pytestmark = pytest.mark.django_db(transaction=True)

DAY = timedelta(days=1)


def aged(conversation: Conversation, days: float) -> Conversation:
    """Make every activity of the conversation `days` old."""
    then = timezone.now() - days * DAY
    Conversation.objects.filter(pk=conversation.pk).update(created_at=then, status_changed_at=then)
    Message.objects.filter(conversation=conversation).update(created_at=then)
    return conversation


def with_messages(*texts: str) -> Conversation:
    conversation = start_conversation()
    for text in texts:
        store_message(conversation.pk, sender="customer", text=text, delivery=Delivery.DELIVERED)
        store_message(conversation.pk, sender="bot", text=f"re: {text}")
    return conversation


def resolved_by(agent: Any) -> Conversation:
    """A conversation the bot handed off, an agent resolved: messages, a handoff, audit records."""
    conversation = with_messages("my card was stolen")
    queue_conversation(conversation)
    transitions.conversation_claim(conversation_id=conversation.pk, agent=agent)
    transitions.conversation_resolve(conversation_id=conversation.pk, agent=agent)
    return conversation


def nlu_of(message: Message, reviewer: Any) -> NluRecord:
    record = NluRecord.objects.create(
        message=message, text=message.text, intent="lost_card", confidence=0.9, classified_at=timezone.now()
    )
    Review.objects.create(record=record, verdict=Verdict.CONFIRMED, intent="lost_card", reviewed_by=reviewer)
    TrainingExample.objects.create(text=message.text, intent="lost_card", record=record, approved_by=reviewer)
    return record


def test_retention_erases_exactly_the_conversations_inactive_too_long(
    settings: Any, alex: Any, mona: Any, fake_rasa: Any
) -> None:
    settings.RETENTION_DAYS = 30
    old = aged(resolved_by(alex), 31)
    nlu_of(Message.objects.filter(conversation=old, sender="customer").first(), mona)  # type: ignore[arg-type]
    old_with_the_bot = aged(with_messages("what are your opening hours"), 40)
    recent = aged(resolved_by(alex), 29)
    # Started long ago, but a message since: its last activity counts, not its start.
    talked_lately = aged(with_messages("hello"), 100)
    store_message(talked_lately.pk, sender="customer", text="still there?", delivery=Delivery.DELIVERED)
    # Customers waiting, however old: queued, with an agent, a message the bot has not answered.
    waiting_queued = with_messages("fraud")
    queue_conversation(waiting_queued)
    aged(waiting_queued, 400)
    waiting_assigned = with_messages("fraud")
    queue_conversation(waiting_assigned)
    transitions.conversation_claim(conversation_id=waiting_assigned.pk, agent=alex)
    aged(waiting_assigned, 400)
    waiting_bot = with_messages("hi")
    store_message(waiting_bot.pk, sender="customer", text="hello?", delivery=Delivery.PENDING)
    aged(waiting_bot, 400)
    trail_before = list(AuditRecord.objects.filter(conversation_id=old.pk).values_list("id", "action"))
    assert Message.objects.filter(conversation=old).count() == 4  # 2, the agent's joining, their resolving

    assert erase_expired_conversations.delay().get() == 2

    erased = {old.pk, old_with_the_bot.pk}
    kept = {recent.pk, talked_lately.pk, waiting_queued.pk, waiting_assigned.pk, waiting_bot.pk}
    assert set(Conversation.objects.values_list("pk", flat=True)) == kept
    assert not Message.objects.filter(conversation_id__in=erased).exists()
    assert not Handoff.objects.filter(conversation_id__in=erased).exists()
    assert Message.objects.filter(conversation=talked_lately).count() == 3
    assert Handoff.objects.filter(conversation=recent).count() == 1
    # The NLU record and its review go with the message; the approved example (masked text) stays, unlinked.
    assert not NluRecord.objects.exists() and not Review.objects.exists()
    assert list(TrainingExample.objects.values_list("text", "record")) == [("my card was stolen", None)]
    # The trail stays whole, and says who erased what (the portal itself: no actor) and how much.
    assert list(AuditRecord.objects.filter(conversation_id=old.pk).exclude(action="erased").values_list(
        "id", "action"
    )) == trail_before
    assert sorted(
        (r.conversation_id == old.pk, r.actor_id, r.detail)
        for r in AuditRecord.objects.filter(action=AuditAction.ERASED)
    ) == [
        (False, None, {"reason": "retention", "messages": 2, "handoffs": 0}),
        (True, None, {"reason": "retention", "messages": 4, "handoffs": 1}),
    ]
    # The bot erased both trackers (after commit), and nothing is left to ask it.
    assert sorted(fake_rasa.erased()) == sorted(str(pk) for pk in erased)
    assert not TrackerErasure.objects.exists()


def test_retention_runs_in_batches_and_a_second_run_does_nothing(settings: Any, fake_rasa: Any) -> None:
    settings.RETENTION_DAYS = 30
    settings.RETENTION_BATCH_SIZE = 2
    old = [aged(with_messages(f"question {n}"), 31 + n).pk for n in range(5)]

    assert erase_expired_conversations.delay().get() == 2  # the first batch, oldest first; the rest chained
    assert not Conversation.objects.exists()
    assert sorted(fake_rasa.erased()) == sorted(str(pk) for pk in old)
    assert AuditRecord.objects.filter(action=AuditAction.ERASED).count() == 5

    assert erase_expired_conversations.delay().get() == 0
    assert AuditRecord.objects.filter(action=AuditAction.ERASED).count() == 5
    assert len(fake_rasa.erased()) == 5


def test_oldest_first_within_a_batch(settings: Any, rasa_down: Any) -> None:
    settings.RETENTION_DAYS = 30
    newer, oldest, middle = (aged(start_conversation(), d).pk for d in (31, 90, 60))
    assert privacy.conversations_erase_expired(limit=2) == 2
    assert list(Conversation.objects.values_list("pk", flat=True)) == [newer]
    assert set(TrackerErasure.objects.values_list("conversation_id", flat=True)) == {oldest, middle}


def test_a_bot_that_is_down_keeps_its_erasures_for_the_next_run(
    settings: Any, fake_rasa: Any, rasa_down: Any
) -> None:
    settings.RETENTION_DAYS = 30  # rasa_down (after fake_rasa) points the portal at nothing; the fake waits
    old = {aged(with_messages("hi"), 31).pk, aged(with_messages("hi"), 32).pk}

    assert erase_expired_conversations.delay().get() == 2
    assert not Conversation.objects.exists()  # the portal's part is done whatever the bot's state
    pending = list(TrackerErasure.objects.order_by("requested_at", "id"))
    assert {p.conversation_id for p in pending} == old
    # The run stopped at the first failure: one try recorded, with why; the other untouched.
    assert [(p.attempts, "cannot connect" in p.last_error) for p in pending] == [(1, True), (0, False)]
    assert erase_bot_trackers.delay().get() == 0
    assert [p.attempts for p in TrackerErasure.objects.order_by("requested_at", "id")] == [2, 0]

    settings.RASA_URL = fake_rasa.url  # the bot is back: the next run erases both
    assert erase_bot_trackers.delay().get() == 2
    assert not TrackerErasure.objects.exists()
    assert sorted(fake_rasa.erased()) == sorted(str(pk) for pk in old)


def test_a_failing_bot_answer_is_a_failure_too(settings: Any, fake_rasa: Any) -> None:
    fake_rasa.status = 501  # e.g. a tracker store the bot's route cannot erase
    conversation = with_messages("hi")
    assert privacy.conversation_erase(conversation_id=conversation.pk, actor=None) is True
    erasure = TrackerErasure.objects.get()
    assert (erasure.conversation_id, erasure.attempts, erasure.last_error) == (
        conversation.pk,
        1,
        f"DELETE /webhooks/erasure/conversations/{conversation.pk}: HTTP 501",
    )


def test_an_erasure_on_request_is_recorded_and_done_once(sue: Any, fake_rasa: Any) -> None:
    conversation = with_messages("close my account", "please")
    other = with_messages("hello")

    assert privacy.conversation_erase(conversation_id=conversation.pk, actor=sue) is True
    assert privacy.conversation_erase(conversation_id=conversation.pk, actor=sue) is False  # already gone

    assert list(Conversation.objects.values_list("pk", flat=True)) == [other.pk]
    assert set(Message.objects.values_list("conversation_id", flat=True)) == {other.pk}
    assert list(AuditRecord.objects.values_list("actor__username", "action", "conversation_id", "detail")) == [
        ("sue", "erased", conversation.pk, {"reason": "request", "messages": 4, "handoffs": 0})
    ]
    assert fake_rasa.erased() == [str(conversation.pk)]


@pytest.mark.parametrize("state", ["queued", "assigned", "unanswered"])
def test_no_erasure_while_a_customer_waits(state: str, alex: Any, sue: Any, fake_rasa: Any) -> None:
    conversation = with_messages("help")
    if state == "unanswered":
        store_message(conversation.pk, sender="customer", text="hello?", delivery=Delivery.PENDING)
    else:
        queue_conversation(conversation)
    if state == "assigned":
        transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
    before = Message.objects.count()
    with pytest.raises(privacy.CustomerWaiting):
        privacy.conversation_erase(conversation_id=conversation.pk, actor=sue)
    assert Conversation.objects.filter(pk=conversation.pk).exists() and Message.objects.count() == before
    assert not AuditRecord.objects.filter(action="erased").exists() and not TrackerErasure.objects.exists()
    assert fake_rasa.erased() == []


def test_export_holds_the_conversations_messages_and_handoffs(alex: Any, sue: Any, fake_rasa: Any) -> None:
    conversation = resolved_by(alex)
    ignored = with_messages("someone else")

    export = privacy.customer_data_export(conversation_ids=[conversation.pk], actor=sue)

    data = export.model_dump(mode="json")
    assert data["version"] == 1
    [exported] = data["conversations"]
    assert (exported["id"], exported["status"]) == (str(conversation.pk), "resolved")
    notices = list(Message.objects.filter(conversation=conversation, seq__gt=2).values_list("text", flat=True))
    assert len(notices) == 2  # the agent's joining and resolving
    assert [(m["seq"], m["sender"], m["agent"], m["text"]) for m in exported["messages"]] == [
        (1, "customer", None, "my card was stolen"),
        (2, "bot", None, "re: my card was stolen"),
        (3, "system", None, notices[0]),
        (4, "system", None, notices[1]),
    ]
    [handoff] = exported["handoffs"]
    assert (handoff["reason"], handoff["outcome"]) == ("explicit_request", "resolved")
    assert handoff["context"] == Handoff.objects.get(conversation=conversation).context
    assert str(ignored.pk) not in export.model_dump_json()
    assert list(
        AuditRecord.objects.filter(action="exported").values_list("actor__username", "conversation_id", "detail")
    ) == [("sue", conversation.pk, {"messages": 4, "handoffs": 1})]


async def test_the_customer_socket_of_an_erased_conversation_closes(fake_rasa: Any) -> None:
    conversation = await database_sync_to_async(with_messages)("hi")
    socket = await open_customer_socket(session_token(conversation.pk))
    assert (await socket.receive_json_from())["type"] == "conversation.snapshot"
    await database_sync_to_async(privacy.conversation_erase)(conversation_id=conversation.pk, actor=None)
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4404}
    await socket.disconnect()


def test_erasing_an_unknown_conversation_does_nothing(fake_rasa: Any) -> None:
    assert privacy.conversation_erase(conversation_id=uuid.uuid4(), actor=None) is False
    assert not AuditRecord.objects.exists() and not TrackerErasure.objects.exists() and fake_rasa.erased() == []


async def test_an_agent_socket_that_had_it_open_lets_it_go(sue: Any, fake_rasa: Any) -> None:
    conversation = await database_sync_to_async(with_messages)("hi")
    headers = await database_sync_to_async(socket_headers)(sue)
    socket = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from())["type"] == "inbox.snapshot"
    await socket.send_json_to({"type": "conversation.open", "conversation_id": str(conversation.pk)})
    assert (await socket.receive_json_from())["type"] == "conversation.snapshot"

    await database_sync_to_async(privacy.conversation_erase)(conversation_id=conversation.pk, actor=sue)
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from() == {"type": "pong"}  # the erasure's event was taken, no crash
    frame = {"type": "messages.sync", "conversation_id": str(conversation.pk), "after_seq": 0}
    await socket.send_json_to(frame)
    assert (await socket.receive_json_from())["code"] == "not_allowed"  # no longer open on this socket
    await socket.disconnect()


async def test_a_message_to_a_conversation_gone_meanwhile_closes_the_socket(fake_rasa: Any) -> None:
    conversation = await database_sync_to_async(with_messages)("hi")
    socket = await open_customer_socket(session_token(conversation.pk))
    assert (await socket.receive_json_from())["type"] == "conversation.snapshot"
    # Gone without the erasure's event (deleted in the admin, or the event lost): the next message finds no row.
    await database_sync_to_async(Conversation.objects.filter(pk=conversation.pk).delete)()
    await socket.send_json_to({"type": "message.send", "client_id": "c1", "text": "still there?"})
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4404}
    await socket.disconnect()
