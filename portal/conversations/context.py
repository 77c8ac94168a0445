"""The handoff context packet: everything an agent needs to pick a conversation up, in one versioned structure.

Built when the conversation is queued, from the Rasa tracker (what the bot understood) and the stored messages
(what was said). When the bot is down it is built from the stored messages alone and its intent fields are empty.
Stored on the Handoff, sent to agents as-is, rendered by the agent UI. Documented in docs/context-packet.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.handoff import HandoffRequest

CONTEXT_PACKET_VERSION: Literal[2] = 2
# Rasa's own bookkeeping slots: not something the customer told the bot.
_INTERNAL_SLOTS = frozenset({"requested_slot", "session_started_metadata"})


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Part):
    code: str
    label: str


class IntentScore(_Part):
    name: str
    confidence: float


class Entity(_Part):
    entity: str
    value: Any
    start: int | None
    end: int | None
    extractor: str | None


class TranscriptLine(_Part):
    sender: str
    text: str
    at: str  # ISO 8601


class Customer(_Part):
    """Who the customer is: verified when the bank's site vouched for them (conversations/identity.py)."""

    verified: bool
    id: str | None  # the bank's customer id when verified, else None


class _PacketFields(_Part):
    conversation_id: str
    reason: Reason
    priority: str  # as the handoff asked for it; the handoff's current priority may have been raised since
    topic: str | None
    note: str | None
    intent: IntentScore | None  # the top intent of the customer's latest message; None when the bot was down
    intent_ranking: list[IntentScore]
    entities: list[Entity]
    slots: dict[str, Any]
    transcript: list[TranscriptLine]
    queued_at: str


class ContextPacketV1(_PacketFields):
    """Version 1, stored by handoffs queued before version 2: read, never written."""

    version: Literal[1]


class ContextPacket(_PacketFields):
    """Version 2 (adds `customer`), the one written. `read_context_packet` reads a stored packet of either
    version; another is refused (see docs)."""

    version: Literal[2] = CONTEXT_PACKET_VERSION
    customer: Customer


AnyContextPacket = Annotated[Union[ContextPacketV1, ContextPacket], Field(discriminator="version")]
_ANY_CONTEXT_PACKET: TypeAdapter[AnyContextPacket] = TypeAdapter(AnyContextPacket)


def read_context_packet(data: Any) -> ContextPacketV1 | ContextPacket:
    """A stored packet (Handoff.context) of any version the portal has written."""
    return _ANY_CONTEXT_PACKET.validate_python(data)


class _Understanding(_Part):
    intent: IntentScore | None = None
    intent_ranking: list[IntentScore] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    slots: dict[str, Any] = Field(default_factory=dict)


def build_context_packet(
    *,
    conversation_id: uuid.UUID | str,
    request: HandoffRequest,
    transcript: Iterable[tuple[str, str, datetime]],
    tracker: dict[str, Any] | None,
    queued_at: datetime,
    customer_id: str = "",
) -> ContextPacket:
    """The packet for one handoff. `transcript`: (sender, text, at) oldest first; `tracker`: Rasa's, or None;
    `customer_id`: the verified customer's (blank: anonymous)."""
    understood = _understanding_from_tracker(tracker) if tracker else _Understanding()
    return ContextPacket(
        conversation_id=str(conversation_id),
        customer=Customer(verified=bool(customer_id), id=customer_id or None),
        reason=Reason(code=request.reason.value, label=request.reason.label),
        priority=request.priority.value,
        topic=request.topic,
        note=request.note,
        intent=understood.intent,
        intent_ranking=understood.intent_ranking,
        entities=understood.entities,
        slots=understood.slots,
        transcript=[TranscriptLine(sender=s, text=t, at=at.isoformat()) for s, t, at in transcript],
        queued_at=queued_at.isoformat(),
    )


def _understanding_from_tracker(tracker: dict[str, Any]) -> _Understanding:
    parse_data = _latest_user_parse_data(tracker)
    intent = parse_data.get("intent") or {}
    return _Understanding(
        intent=_intent_score(intent) if intent.get("name") else None,
        intent_ranking=[_intent_score(i) for i in parse_data.get("intent_ranking") or [] if i.get("name")],
        entities=[_entity(e) for e in parse_data.get("entities") or []],
        slots={
            name: value
            for name, value in (tracker.get("slots") or {}).items()
            if name not in _INTERNAL_SLOTS and value not in (None, "", [], {})
        },
    )


def _latest_user_parse_data(tracker: dict[str, Any]) -> dict[str, Any]:
    """What the bot understood of the customer's latest message (the user event's parse_data)."""
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "user":
            return event.get("parse_data") or {}
    return tracker.get("latest_message") or {}


def _intent_score(intent: dict[str, Any]) -> IntentScore:
    return IntentScore(name=str(intent["name"]), confidence=round(float(intent.get("confidence") or 0.0), 4))


def _entity(entity: dict[str, Any]) -> Entity:
    # The tracker is another program's data: what does not fit the packet's types is left out, not fatal.
    return Entity(
        entity=str(entity.get("entity")),
        value=entity.get("value"),
        start=_offset(entity.get("start")),
        end=_offset(entity.get("end")),
        extractor=str(entity["extractor"]) if entity.get("extractor") is not None else None,
    )


def _offset(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
