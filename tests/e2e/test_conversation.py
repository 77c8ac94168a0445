"""Issue 2, steps 2-4, on the real stack: the customer talks to the bot, is handed to a live agent with
the context packet, chats with the agent while the bot stays silent, and is handed back to the bot.
And fail-open: with the Rasa server stopped, the customer's message is kept and reaches a person."""

from __future__ import annotations

from typing import Any

from .clients import Agent, Customer, Frame, is_message, is_type
from .harness import Stack

GREETING = "hi"
HOURS_QUESTION = "what time do you open on saturday"
FRAUD_REPORT = "there's a payment of £250 on my card ending 4242 I never made, I want to talk to someone"
HOURS_ANSWER = r"\d"  # the opening hours answer gives times
SILENCE_SECONDS = 4.0  # the bot answers well within this when it is meant to


def handoff_of(conversation_id: str, status: str):
    def matches(frame: Frame) -> bool:
        handoff = frame.get("handoff") or {}
        return (
            frame.get("type") == "handoff.updated"
            and handoff.get("conversation_id") == conversation_id
            and handoff.get("status") == status
        )

    return matches


def stored_transcript(stack: Stack, conversation_id: str) -> dict[str, Any]:
    """The conversation as the database holds it: status, messages, handoffs."""
    return stack.django(f"""
        from conversations.models import Conversation
        c = Conversation.objects.get(id="{conversation_id}")
        print(json.dumps({{
            "status": c.status,
            "messages": [{{"sender": m.sender, "text": m.text, "delivery": m.delivery}}
                         for m in c.messages.order_by("created_at", "id")],
            "handoffs": [{{"reason": h.reason, "outcome": h.outcome, "claimed": h.claimed_by_id is not None}}
                         for h in c.handoffs.order_by("queued_at")],
        }}))
    """)


def entity_values(context: dict[str, Any]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for entity in context["entities"]:
        values.setdefault(entity["entity"], []).append(str(entity["value"]))
    return values


async def test_customer_is_answered_by_the_bot_then_handed_to_a_live_agent_and_back(stack: Stack) -> None:
    agent = await Agent.log_in(stack.http_url, stack.ws_url, stack.agent_username, stack.agent_password)
    customer = await Customer.start(stack.http_url, stack.ws_url)
    conversation = customer.conversation_id

    # Step 2: the bot answers routine questions.
    await customer.say(GREETING)
    await customer.wait_for(is_message("bot"), what="the bot's greeting")
    await customer.say(HOURS_QUESTION)
    await customer.wait_for(is_message("bot", HOURS_ANSWER), what="the bot's opening hours answer")

    # Step 3: the fraud report goes to a person, live, with its context packet.
    await customer.say(FRAUD_REPORT)
    await customer.wait_for(is_type("conversation.status", status="queued"), what="status queued")
    handoff = (await agent.wait_for(handoff_of(conversation, "queued"), what="the handoff in the inbox"))[
        "handoff"
    ]
    assert handoff["reason"] in {"sensitive_topic", "explicit_request"}
    context = handoff["context"]
    assert context["reason"]["code"] == handoff["reason"]
    assert context["intent"]["name"] in {"report_fraud", "dispute_charge", "request_human"}
    assert context["intent_ranking"] and context["intent_ranking"][0]["name"] == context["intent"]["name"]
    entities = entity_values(context)
    assert entities.get("card_last_four") == ["4242"]
    assert any("250" in value for value in entities.get("amount", [])), entities
    assert [line["text"] for line in context["transcript"] if line["sender"] == "customer"] == [
        GREETING,
        HOURS_QUESTION,
        FRAUD_REPORT,
    ]
    assert isinstance(context["slots"], dict)
    assert handoff["priority"] in {"low", "normal", "high", "urgent"} and handoff["queued_at"]

    # Step 4: the agent claims it; the customer sees the agent join; they chat both ways.
    await agent.act("conversation.open", conversation)
    snapshot = await agent.wait_for(is_type("conversation.snapshot"), what="the conversation snapshot")
    assert [m["text"] for m in snapshot["messages"] if m["sender"] == "customer"] == [
        GREETING,
        HOURS_QUESTION,
        FRAUD_REPORT,
    ]
    await agent.act("handoff.claim", conversation)
    joined = await customer.wait_for(is_type("conversation.status", status="assigned"), what="agent joined")
    assert joined["agent"]["display_name"]

    await agent.say(conversation, "Hello, I am looking at that payment now.")
    await customer.wait_for(is_message("agent", "looking at that payment"), what="the agent's message")
    await customer.say("Thank you, it was yesterday")
    await agent.wait_for(
        is_message("customer", "it was yesterday"), what="the customer's message at the agent"
    )

    # The bot stays silent while the agent owns the conversation, even on a question it would answer.
    await customer.say(HOURS_QUESTION)
    await agent.wait_for(is_message("customer", HOURS_QUESTION), what="the question at the agent")
    arrived = await customer.drain(SILENCE_SECONDS)
    assert not [f for f in arrived if is_message("bot")(f)], arrived

    # Handed back, the bot answers again.
    await agent.act("conversation.hand_back", conversation)
    await customer.wait_for(is_type("conversation.status", status="bot"), what="status bot")
    await customer.say(HOURS_QUESTION)
    await customer.wait_for(is_message("bot", HOURS_ANSWER), what="the bot's answer after hand-back")

    await customer.close()
    await agent.close()

    stored = stored_transcript(stack, conversation)
    senders_texts = [(m["sender"], m["text"]) for m in stored["messages"]]
    customer_texts = [t for s, t in senders_texts if s == "customer"]
    assert customer_texts == [
        GREETING,
        HOURS_QUESTION,
        FRAUD_REPORT,
        "Thank you, it was yesterday",
        HOURS_QUESTION,
        HOURS_QUESTION,
    ]
    assert ("agent", "Hello, I am looking at that payment now.") in senders_texts
    # No bot message between the agent's first message and the customer's last question (after hand-back).
    agent_at = senders_texts.index(("agent", "Hello, I am looking at that payment now."))
    last_question_at = len(senders_texts) - 1 - senders_texts[::-1].index(("customer", HOURS_QUESTION))
    assert [s for s, _ in senders_texts[agent_at:last_question_at] if s == "bot"] == []
    assert senders_texts[-1][0] == "bot"
    # The question asked while the agent owned the conversation was never meant for the bot.
    assert [m["delivery"] for m in stored["messages"] if m["sender"] == "customer"] == [
        "delivered",
        "delivered",
        "delivered",
        "skipped",
        "skipped",
        "delivered",
    ]
    assert stored["status"] == "bot"
    assert stored["handoffs"] == [{"reason": handoff["reason"], "outcome": "handed_back", "claimed": True}]


async def test_with_the_bot_down_the_message_is_kept_and_reaches_a_person(bot_stopped: Stack) -> None:
    stack = bot_stopped
    agent = await Agent.log_in(stack.http_url, stack.ws_url, stack.agent_username, stack.agent_password)
    customer = await Customer.start(stack.http_url, stack.ws_url)
    conversation = customer.conversation_id

    await customer.say(HOURS_QUESTION)
    await customer.wait_for(
        is_message("system", r"person|agent|colleague"), what="the 'a person will answer' notice"
    )
    await customer.wait_for(is_type("conversation.status", status="queued"), what="status queued")
    handoff = (await agent.wait_for(handoff_of(conversation, "queued"), what="the handoff in the inbox"))[
        "handoff"
    ]
    assert handoff["reason"] == "bot_unavailable"

    await customer.close()
    await agent.close()

    stored = stored_transcript(stack, conversation)
    assert [(m["sender"], m["text"]) for m in stored["messages"] if m["sender"] == "customer"] == [
        ("customer", HOURS_QUESTION)
    ]
    assert [m["delivery"] for m in stored["messages"] if m["sender"] == "customer"] == ["failed"]
    assert not [m for m in stored["messages"] if m["sender"] == "bot"]
    assert stored["status"] == "queued"
    assert stored["handoffs"] == [{"reason": "bot_unavailable", "outcome": "", "claimed": False}]
