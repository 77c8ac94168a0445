"""docs/privacy.md on the real stack: an erasure, on a supervisor's request or by the retention job, reaches the
real Rasa server through the Celery worker and the bot's erasure route, and wipes the conversation's tracker; the
customer's open socket, on another portal process maybe, closes with 4404."""

from __future__ import annotations

import asyncio
import time

import httpx
from websockets.exceptions import ConnectionClosed

from .clients import Customer, is_message
from .harness import Stack

ERASURE_TIMEOUT_SECONDS = 30.0


def user_texts_in_tracker(stack: Stack, conversation_id: str) -> list[str]:
    """What the Rasa server's tracker store holds of the customer's words, every session of it."""
    response = httpx.get(
        f"{stack.config.rasa_url}/conversations/{conversation_id}/tracker",
        params={"token": stack.config.rasa_token, "include_events": "ALL"},
        timeout=10,
    )
    response.raise_for_status()
    return [e.get("text") for e in response.json()["events"] if e.get("event") == "user"]


async def talked_to_the_bot(stack: Stack, text: str) -> Customer:
    customer = await Customer.start(stack.http_url, stack.ws_url)
    await customer.say(text)
    await customer.wait_for(is_message("bot"), what="the bot's answer")
    assert user_texts_in_tracker(stack, customer.conversation_id) == [text]
    return customer


def wait_until_the_tracker_is_wiped(stack: Stack, conversation_id: str) -> None:
    deadline = time.monotonic() + ERASURE_TIMEOUT_SECONDS
    while user_texts_in_tracker(stack, conversation_id):
        assert time.monotonic() < deadline, "the bot's tracker still holds the customer's words"
        time.sleep(0.25)


def left_of(stack: Stack, conversation_id: str) -> dict[str, object]:
    return stack.django(f"""
        from conversations.models import AuditRecord, Conversation, Message, TrackerErasure
        cid = "{conversation_id}"
        print(json.dumps({{
            "conversation": Conversation.objects.filter(pk=cid).exists(),
            "messages": Message.objects.filter(conversation_id=cid).count(),
            "erased": list(AuditRecord.objects.filter(conversation_id=cid, action="erased").values_list(
                "actor__username", "detail__reason")),
            "bot_still_holds": TrackerErasure.objects.filter(conversation_id=cid).exists(),
        }}))
    """)


async def closed_with(customer: Customer) -> int | None:
    try:
        await customer.drain(ERASURE_TIMEOUT_SECONDS)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("the customer's socket stayed open")


async def test_an_erasure_on_request_wipes_the_bots_tracker(stack: Stack) -> None:
    customer = await talked_to_the_bot(stack, "what are your opening hours on saturday")
    cid = customer.conversation_id
    stack.django(f"""
        from agents.roles import Role
        from agents.services import user_set_up
        from conversations import privacy
        sue, _ = user_set_up(username="e2e-sue", password="pw-e2e-sue", role=Role.SUPERVISOR, display_name="Sue")
        print(json.dumps(privacy.conversation_erase(conversation_id="{cid}", actor=sue)))
    """)

    assert await closed_with(customer) == 4404
    wait_until_the_tracker_is_wiped(stack, cid)
    deadline = time.monotonic() + ERASURE_TIMEOUT_SECONDS
    while (left := left_of(stack, cid))["bot_still_holds"] and time.monotonic() < deadline:
        await asyncio.sleep(0.25)  # the bot answered; the worker forgets the erasure just after
    assert left == {"conversation": False, "messages": 0, "erased": [["e2e-sue", "request"]], "bot_still_holds": False}


async def test_the_retention_job_erases_an_old_conversation_in_the_portal_and_the_bot(stack: Stack) -> None:
    old = await talked_to_the_bot(stack, "how do I order a new chequebook")
    recent = await talked_to_the_bot(stack, "what is my card limit")
    await old.close()
    # Its last activity a long time ago (the stack runs the default retention, 365 days); the job, queued now
    # rather than at 03:15, runs on the real worker.
    stack.django(f"""
        from datetime import timedelta
        from django.utils import timezone
        from conversations.models import Conversation, Message
        from conversations.tasks import erase_expired_conversations
        then = timezone.now() - timedelta(days=400)
        Conversation.objects.filter(pk="{old.conversation_id}").update(created_at=then, status_changed_at=then)
        Message.objects.filter(conversation_id="{old.conversation_id}").update(created_at=then)
        erase_expired_conversations.delay()
        print("null")
    """)

    wait_until_the_tracker_is_wiped(stack, old.conversation_id)
    assert left_of(stack, old.conversation_id)["erased"] == [[None, "retention"]]
    assert user_texts_in_tracker(stack, recent.conversation_id) == ["what is my card limit"]
    assert left_of(stack, recent.conversation_id)["conversation"] is True
    await recent.close()
