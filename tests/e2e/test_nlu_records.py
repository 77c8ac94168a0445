"""On the real stack: the Rasa server's reading of each customer message reaches the portal through its event broker
and the NLU stream (Redis), and beat's ingest stores it as the NluRecord of that message; the handoff a message led
to is linked to it, so the NLU inbox says what followed; the agent's label at resolve lands on that handoff, and the
inbox shows the message as corrected by an agent."""

from __future__ import annotations

import time
from typing import Any

from .clients import Agent, Customer, is_message, is_type
from .harness import Stack
from .test_conversation import HOURS_ANSWER, HOURS_QUESTION, handoff_of

FRAUD_REPORT = "there's a payment of £250 on my card 4242 4242 4242 4242 I never made, I want to talk to someone"
INGEST_WAIT_SECONDS = 60  # beat runs the ingest every 5 s; a loaded machine may lag


def records_of(stack: Stack, conversation_id: str, count: int) -> list[dict[str, Any]]:
    """The NluRecords of the conversation's customer messages, once there are `count` of them."""
    deadline = time.monotonic() + INGEST_WAIT_SECONDS
    while True:
        records = stack.django(f"""
            from tuning import selectors
            from tuning.models import NluRecord
            records = selectors.with_what_followed(
                NluRecord.objects.filter(message__conversation_id="{conversation_id}")
            ).order_by("message__seq")
            print(json.dumps([
                {{"message_id": r.message_id, "message_text": r.message.text, "text": r.text, "intent": r.intent,
                  "confidence": r.confidence, "ranking": r.ranking, "entities": r.entities, "model_id": r.model_id,
                  "followed": r.followed, "handoff_reason": r.handoff_reason}}
                for r in records
            ]))
        """)
        if len(records) >= count:
            return records
        assert time.monotonic() < deadline, f"{len(records)} of {count} NLU records after {INGEST_WAIT_SECONDS} s"
        time.sleep(1)


async def test_each_customer_messages_reading_becomes_its_nlu_record(stack: Stack) -> None:
    agent = await Agent.log_in(stack.http_url, stack.ws_url, stack.agent_username, stack.agent_password)
    customer = await Customer.start(stack.http_url, stack.ws_url)
    conversation = customer.conversation_id

    hours = await customer.say(HOURS_QUESTION)
    await customer.wait_for(is_message("bot", HOURS_ANSWER), what="the bot's opening hours answer")
    fraud = await customer.say(FRAUD_REPORT)
    await customer.wait_for(is_type("conversation.status", status="queued"), what="status queued")
    handoff = (await agent.wait_for(handoff_of(conversation, "queued"), what="the handoff"))["handoff"]

    records = records_of(stack, conversation, 2)
    assert [r["message_id"] for r in records] == [hours["id"], fraud["id"]]
    for record in records:
        assert record["text"] == record["message_text"]  # as the bot read it: the portal's masked text
        assert record["intent"] and 0 < record["confidence"] <= 1
        assert record["ranking"][0] == {"name": record["intent"], "confidence": record["confidence"]}
        assert record["model_id"]  # Rasa's id of the model that read it
    assert records[0]["intent"] == "opening_hours" and records[0]["followed"] == "answered"
    assert "****4242 I never made" in records[1]["text"] and "4242 4242" not in str(records[1])
    # The fraud report led to the handoff: what followed is that handoff, with its reason.
    assert (records[1]["followed"], records[1]["handoff_reason"]) == ("handoff", handoff["reason"])
    assert records[1]["intent"] == handoff["context"]["intent"]["name"]

    # The agent resolves it with a label: what the customer needed was not what the bot read.
    label = "dispute_charge" if records[1]["intent"] != "dispute_charge" else "report_fraud"
    await agent.act("handoff.claim", conversation)
    await agent.wait_for(is_type("conversation.snapshot"), what="the claimed conversation")
    await agent.act("conversation.resolve", conversation, label={"intent": label, "handoff_needed": True})
    await customer.wait_for(is_type("conversation.status", status="resolved"), what="status resolved")
    corrected = stack.django(f"""
        from conversations.models import Handoff
        from tuning import selectors
        handoff = Handoff.objects.get(conversation_id="{conversation}")
        filters = selectors.InboxFilters(agent_label=selectors.AgentLabel.CORRECTED)
        print(json.dumps({{
            "label": [handoff.label_intent, handoff.label_handoff_needed],
            "corrected": [r.message_id for r in selectors.inbox_records(filters)],
        }}))
    """)
    assert corrected["label"] == [label, True]
    assert fraud["id"] in corrected["corrected"]

    await customer.close()
    await agent.close()
