"""Customer and agent text is stored with its personal data masked (contracts/redaction.py has the corpus); the
bot's is not, since it only sees masked text and its answers carry the bank's own details."""

from __future__ import annotations

from typing import Any

import pytest
from portal_support import new_client_id, queue_conversation, start_conversation

from bot_gateway.client import BotReply
from conversations import services, transitions
from conversations.models import Conversation

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_customers_bank_details_are_masked_before_they_are_stored(no_delivery_task: list[Any]) -> None:
    conversation = start_conversation()
    message = services.message_post_customer(
        conversation_id=conversation.pk, client_id=new_client_id(), text="sort code 20-00-00 account 31926819"
    )
    message.refresh_from_db()
    assert message.text == "sort code **-**-** account ****6819"


def test_an_agents_text_is_masked_too(alex: Any) -> None:
    conversation = start_conversation()
    queue_conversation(conversation)
    transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
    message = services.message_post_agent(
        conversation_id=conversation.pk, agent=alex, client_id=new_client_id(), text="is it 4242 4242 4242 4242?"
    )
    message.refresh_from_db()
    assert message.text == "is it ****4242?"


def test_the_bots_answer_with_the_banks_own_sort_code_is_kept() -> None:
    conversation = Conversation.objects.get(pk=start_conversation().pk)
    answer = "Every Northbank account has the sort code 40-12-76."
    (message,) = services.messages_post_bot(conversation=conversation, replies=[BotReply(text=answer)])
    message.refresh_from_db()
    assert message.text == answer
