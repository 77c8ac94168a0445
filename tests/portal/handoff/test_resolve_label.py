"""Agents label handoffs as they resolve them, over the real agent socket: the inbox offers the bot's domain intents;
`conversation.resolve` with a `label` stores what the customer needed and whether a person was needed on the
handoff, audited; the NLU inbox then shows that message as labelled, and corrected when the bot read otherwise.
A label that is not the protocol's is refused and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from portal_support import (
    handoff_answer,
    is_type,
    new_client_id,
    queue_conversation,
    receive_until,
    socket_headers,
    start_conversation,
)

from bot_gateway import domain
from config.asgi import application
from conversations import services
from conversations.models import AuditAction, AuditRecord, Conversation, Handoff
from tuning import selectors
from tuning.models import NluRecord

pytestmark = pytest.mark.django_db(transaction=True)


async def logged_in(user: Any) -> tuple[WebsocketCommunicator, dict]:
    headers = await database_sync_to_async(socket_headers)(user)
    communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    assert (await communicator.connect())[0]
    inbox = await communicator.receive_json_from()
    assert inbox["type"] == "inbox.snapshot"
    return communicator, inbox


def handed_off_by_the_bot(fake_rasa: Any) -> tuple[Conversation, NluRecord]:
    """A conversation the bot handed off on a fraud report, with the NluRecord the bot's reading made of it."""
    fake_rasa.answer = handoff_answer(reason="sensitive_topic", priority="urgent")
    conversation = start_conversation()
    message = services.message_post_customer(
        conversation_id=conversation.pk, client_id=new_client_id(), text="someone used my card in Spain"
    )
    record = NluRecord.objects.create(
        message=message, text=message.text, intent="report_fraud", confidence=0.71,
        ranking=[{"name": "report_fraud", "confidence": 0.71}], classified_at=timezone.now(),
    )
    return conversation, record


async def claimed(agent: WebsocketCommunicator, conversation_id: str) -> None:
    await agent.send_json_to({"type": "handoff.claim", "conversation_id": conversation_id})
    await receive_until(agent, is_type("conversation.snapshot"))


def labelled(conversation: Conversation) -> tuple[str, bool | None, str]:
    handoff = Handoff.objects.get(conversation=conversation)
    return handoff.label_intent, handoff.label_handoff_needed, Conversation.objects.get(pk=conversation.pk).status


async def test_the_inbox_offers_the_bots_domain_intents(alex: Any) -> None:
    agent, inbox = await logged_in(alex)
    assert inbox["intents"] == await database_sync_to_async(domain.domain_intents)()
    assert "report_fraud" in inbox["intents"] and "sensitive_screen" not in inbox["intents"]
    await agent.disconnect()


async def test_a_label_at_resolve_is_stored_and_shows_in_the_nlu_inbox(alex: Any, fake_rasa: Any) -> None:
    conversation, record = await database_sync_to_async(handed_off_by_the_bot)(fake_rasa)
    cid = str(conversation.pk)
    agent, _ = await logged_in(alex)
    await claimed(agent, cid)
    await agent.send_json_to({
        "type": "conversation.resolve",
        "conversation_id": cid,
        "label": {"intent": "dispute_charge", "handoff_needed": True},
    })
    await receive_until(agent, lambda f: f["type"] == "handoff.updated" and f["handoff"]["status"] == "resolved")
    assert await database_sync_to_async(labelled)(conversation) == ("dispute_charge", True, "resolved")
    audit = await database_sync_to_async(AuditRecord.objects.get)(action=AuditAction.RESOLVED)
    assert audit.detail == {"label": {"intent": "dispute_charge", "handoff_needed": True}}

    def inbox(label: selectors.AgentLabel) -> list[NluRecord]:
        return list(selectors.inbox_records(selectors.InboxFilters(agent_label=label)))

    assert await database_sync_to_async(inbox)(selectors.AgentLabel.LABELLED) == [record]
    assert await database_sync_to_async(inbox)(selectors.AgentLabel.CORRECTED) == [record]  # the bot read fraud
    await agent.disconnect()


async def test_a_label_that_agrees_with_the_bot_is_labelled_not_corrected(alex: Any, fake_rasa: Any) -> None:
    conversation, record = await database_sync_to_async(handed_off_by_the_bot)(fake_rasa)
    agent, _ = await logged_in(alex)
    await claimed(agent, str(conversation.pk))
    await agent.send_json_to({
        "type": "conversation.resolve",
        "conversation_id": str(conversation.pk),
        "label": {"intent": "report_fraud", "handoff_needed": False},
    })
    await receive_until(agent, lambda f: f["type"] == "handoff.updated" and f["handoff"]["status"] == "resolved")
    assert await database_sync_to_async(labelled)(conversation) == ("report_fraud", False, "resolved")
    filters = selectors.InboxFilters(agent_label=selectors.AgentLabel.CORRECTED)
    assert await database_sync_to_async(lambda: list(selectors.inbox_records(filters)))() == []
    await agent.disconnect()


async def test_resolving_without_a_label_leaves_none(alex: Any) -> None:
    conversation = await database_sync_to_async(start_conversation)()
    await database_sync_to_async(queue_conversation)(conversation)
    agent, _ = await logged_in(alex)
    await claimed(agent, str(conversation.pk))
    await agent.send_json_to({"type": "conversation.resolve", "conversation_id": str(conversation.pk)})
    await receive_until(agent, lambda f: f["type"] == "handoff.updated" and f["handoff"]["status"] == "resolved")
    assert await database_sync_to_async(labelled)(conversation) == ("", None, "resolved")
    audit = await database_sync_to_async(AuditRecord.objects.get)(action=AuditAction.RESOLVED)
    assert audit.detail == {}
    await agent.disconnect()


@pytest.mark.parametrize(
    "label, field",
    [
        ({"intent": "sensitive_screen", "handoff_needed": True}, "label.intent"),  # the screen's, not a label
        ({"intent": "buy_a_boat", "handoff_needed": True}, "label.intent"),
        ({"intent": "report_fraud", "handoff_needed": "yes"}, "label.handoff_needed"),
        ({"intent": "report_fraud"}, "label.handoff_needed"),
    ],
)
async def test_a_label_outside_the_protocol_is_refused_and_nothing_changes(
    alex: Any, label: dict, field: str
) -> None:
    conversation = await database_sync_to_async(start_conversation)()
    await database_sync_to_async(queue_conversation)(conversation)
    agent, _ = await logged_in(alex)
    await claimed(agent, str(conversation.pk))
    await agent.send_json_to({"type": "conversation.resolve", "conversation_id": str(conversation.pk), "label": label})
    error = (await receive_until(agent, is_type("error")))[-1]
    assert error["code"] == "invalid_field" and error["detail"].startswith(field + ":")
    assert await database_sync_to_async(labelled)(conversation) == ("", None, "assigned")
    await agent.disconnect()
