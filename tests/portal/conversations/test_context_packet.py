"""The context packet: built from the Rasa tracker and the stored transcript, or from the transcript alone."""

from __future__ import annotations

import json
from datetime import datetime, UTC

import pytest
from pydantic import ValidationError

from contracts.handoff import HandoffReason, HandoffRequest, Priority
from conversations.context import (
    CONTEXT_PACKET_VERSION,
    ContextPacket,
    ContextPacketV1,
    Customer,
    Entity,
    IntentScore,
    build_context_packet,
    read_context_packet,
)

FRAUD = "there's a payment of £250 on my card ending 4242 I never made, I want to talk to someone"
AT = datetime(2026, 11, 22, 9, 16, 40, tzinfo=UTC)
TRACKER = {
    "sender_id": "7d1c",
    "slots": {
        "amount": "£250",
        "card_last_four": "4242",
        "requested_slot": None,
        "account_type": None,
        "topics": [],
    },
    "latest_message": {"intent": {"name": "stale", "confidence": 0.1}},
    "events": [
        {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet", "confidence": 0.99}}},
        {"event": "bot", "text": "Hello!"},
        {
            "event": "user",
            "text": FRAUD,
            "parse_data": {
                "intent": {"name": "report_fraud", "confidence": 0.93124},
                "intent_ranking": [
                    {"name": "report_fraud", "confidence": 0.93124},
                    {"name": "dispute_transaction", "confidence": 0.0411},
                ],
                "entities": [
                    {"entity": "amount", "value": "£250", "start": 20, "end": 24, "extractor": "EntityRuler"},
                    {
                        "entity": "card_last_four",
                        "value": "4242",
                        "start": 46,
                        "end": 50,
                        "extractor": "RegexEntityExtractor",
                    },
                ],
            },
        },
        {"event": "action", "name": "action_handoff"},
    ],
}
REQUEST = HandoffRequest(
    reason=HandoffReason.SENSITIVE_TOPIC,
    priority=Priority.URGENT,
    topic="report_fraud",
    note="card blocked: no",
)
TRANSCRIPT = [("customer", "hi", AT), ("bot", "Hello!", AT), ("customer", FRAUD, AT)]


def build(tracker: dict | None, customer_id: str = "") -> ContextPacket:
    return build_context_packet(
        conversation_id="7d1c",
        request=REQUEST,
        transcript=TRANSCRIPT,
        tracker=tracker,
        queued_at=AT,
        customer_id=customer_id,
    )


def test_the_packet_reads_the_latest_user_message_and_the_non_empty_slots() -> None:
    packet = build(TRACKER)
    assert packet.version == CONTEXT_PACKET_VERSION == 2
    assert packet.customer == Customer(verified=False, id=None)
    assert (packet.reason.code, packet.reason.label) == ("sensitive_topic", "Sensitive topic")
    assert (packet.priority, packet.topic, packet.note) == ("urgent", "report_fraud", "card blocked: no")
    assert packet.intent == IntentScore(name="report_fraud", confidence=0.9312)
    assert packet.intent_ranking == [
        IntentScore(name="report_fraud", confidence=0.9312),
        IntentScore(name="dispute_transaction", confidence=0.0411),
    ]
    assert packet.entities == [
        Entity(entity="amount", value="£250", start=20, end=24, extractor="EntityRuler"),
        Entity(entity="card_last_four", value="4242", start=46, end=50, extractor="RegexEntityExtractor"),
    ]
    assert packet.slots == {"amount": "£250", "card_last_four": "4242"}
    assert [(line.sender, line.text) for line in packet.transcript] == [(s, t) for s, t, _ in TRANSCRIPT]
    assert packet.queued_at == "2026-11-22T09:16:40+00:00"


def test_without_the_bot_the_packet_has_the_transcript_and_empty_intent_fields() -> None:
    packet = build(None)
    assert (packet.intent, packet.intent_ranking, packet.entities, packet.slots) == (None, [], [], {})
    assert len(packet.transcript) == 3


def test_a_tracker_with_no_user_event_falls_back_to_latest_message() -> None:
    packet = build(
        {"slots": {}, "events": [], "latest_message": {"intent": {"name": "greet", "confidence": 1.0}}}
    )
    assert packet.intent == IntentScore(name="greet", confidence=1.0)


def test_the_packet_survives_json_and_back() -> None:
    packet = build(TRACKER)
    assert ContextPacket.model_validate(json.loads(json.dumps(packet.model_dump()))) == packet


def test_the_packet_says_who_a_verified_customer_is() -> None:
    assert build(TRACKER, customer_id="cust-0042").customer == Customer(verified=True, id="cust-0042")


def test_a_stored_packet_of_version_1_is_still_read() -> None:
    stored = {key: value for key, value in build(TRACKER).model_dump().items() if key != "customer"}
    packet = read_context_packet({**stored, "version": 1})
    assert isinstance(packet, ContextPacketV1) and packet.slots == build(TRACKER).slots
    assert read_context_packet(build(TRACKER).model_dump()) == build(TRACKER)


@pytest.mark.parametrize("version", [3, 0, "2"])
def test_a_packet_of_another_version_is_refused(version: object) -> None:
    with pytest.raises(ValidationError):
        read_context_packet({**build(TRACKER).model_dump(), "version": version})
    with pytest.raises(ValidationError):  # version 2 must say who the customer is
        read_context_packet({k: v for k, v in build(TRACKER).model_dump().items() if k != "customer"})


def test_tracker_values_that_do_not_fit_are_left_out_not_fatal() -> None:
    entity = {"entity": "amount", "value": 5, "start": "x", "extractor": 3}
    tracker = {"events": [{"event": "user", "parse_data": {"entities": [entity]}}]}
    assert build(tracker).entities == [Entity(entity="amount", value=5, start=None, end=None, extractor="3")]


def test_the_documented_fields_are_exactly_the_packets() -> None:
    documented = {
        "version",
        "conversation_id",
        "reason",
        "priority",
        "topic",
        "note",
        "intent",
        "intent_ranking",
        "entities",
        "slots",
        "transcript",
        "queued_at",
        "customer",
    }
    assert set(build(TRACKER).model_dump()) == documented
