"""How the bot tells the portal to hand a conversation to a person: the one contract both sides use.

The bot's `action_handoff` sends, among its messages to the REST channel, one message whose `custom`
payload is `{"handoff": {...}}` built by `handoff_payload()`. The portal's bot gateway reads it back with
`parse_handoff()`. `bot_unavailable` is the one reason the portal sets itself (the bot never sends it).
Documented, with examples, in docs/handoff.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Dict, Mapping, Optional

CONTRACT_VERSION = 1
HANDOFF_KEY = "handoff"


class HandoffReason(str, Enum):
    """Why a conversation goes to a person. The value is the wire code."""

    EXPLICIT_REQUEST = "explicit_request"  # the customer asked for a person
    SENSITIVE_TOPIC = "sensitive_topic"  # fraud, dispute, complaint, bereavement, hardship, blocked account
    LOW_CONFIDENCE = "low_confidence"  # the two-stage fallback ran out without an understood message
    REPEATED_FALLBACK = "repeated_fallback"  # several fallbacks in one conversation
    FRUSTRATION = "frustration"  # angry words, or the same question asked twice
    OUT_OF_SCOPE_OFFER_ACCEPTED = "out_of_scope_offer_accepted"  # declined out of scope, customer took the offer
    VERIFICATION_FAILED = "verification_failed"  # a form could not confirm the card or account
    CUSTOMER_NOT_VERIFIED = "customer_not_verified"  # an account action, for a customer no bank vouched for
    SAFETY_SCREEN = "safety_screen"  # the sensitive-topic screen fired whatever the intent (topic, note say why)
    BOT_UNAVAILABLE = "bot_unavailable"  # set by the portal: the bot was down or timed out

    @property
    def label(self) -> str:
        return REASON_LABELS[self]


REASON_LABELS: Dict[HandoffReason, str] = {
    HandoffReason.EXPLICIT_REQUEST: "Customer asked for a person",
    HandoffReason.SENSITIVE_TOPIC: "Sensitive topic",
    HandoffReason.LOW_CONFIDENCE: "Bot could not understand",
    HandoffReason.REPEATED_FALLBACK: "Repeated misunderstandings",
    HandoffReason.FRUSTRATION: "Customer frustrated",
    HandoffReason.OUT_OF_SCOPE_OFFER_ACCEPTED: "Out of scope, customer accepted a person",
    HandoffReason.VERIFICATION_FAILED: "Verification failed",
    HandoffReason.CUSTOMER_NOT_VERIFIED: "Account action, customer not verified",
    HandoffReason.SAFETY_SCREEN: "Safety screen: sensitive topic",
    HandoffReason.BOT_UNAVAILABLE: "Bot unavailable",
}


class Priority(str, Enum):
    """How soon a person must pick the conversation up; ordered low to urgent."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)

    def raised(self) -> "Priority":
        """The next priority up (urgent stays urgent)."""
        order = list(Priority)
        return order[min(self.rank + 1, len(order) - 1)]


@dataclass(frozen=True)
class HandoffRequest:
    """What the bot asks of the portal: hand off, why, how urgently, and about what."""

    reason: HandoffReason
    priority: Priority = Priority.NORMAL
    topic: Optional[str] = None  # the intent that led here, e.g. "report_fraud"
    note: Optional[str] = None  # one line for the agent, e.g. "card blocked: yes"
    version: int = CONTRACT_VERSION


class HandoffContractError(ValueError):
    """A `handoff` payload that does not follow this contract."""


def handoff_payload(request: HandoffRequest) -> Dict[str, Any]:
    """The `custom` payload of the bot message that asks for a handoff."""
    body: Dict[str, Any] = {
        "version": request.version,
        "reason": request.reason.value,
        "priority": request.priority.value,
    }
    if request.topic:
        body["topic"] = request.topic
    if request.note:
        body["note"] = request.note
    return {HANDOFF_KEY: body}


def parse_handoff(custom: Optional[Mapping[str, Any]]) -> Optional[HandoffRequest]:
    """The handoff request in a bot message's `custom` payload, or None where it holds none."""
    if not custom or HANDOFF_KEY not in custom:
        return None
    body = custom[HANDOFF_KEY]
    if not isinstance(body, Mapping):
        raise HandoffContractError("handoff payload must be an object")
    version = body.get("version", CONTRACT_VERSION)
    if version != CONTRACT_VERSION:
        raise HandoffContractError(f"unsupported handoff contract version {version!r}")
    try:
        reason = HandoffReason(body["reason"])
        priority = Priority(body.get("priority", Priority.NORMAL.value))
    except (KeyError, ValueError) as exc:
        raise HandoffContractError(f"bad handoff payload: {exc}") from exc
    return HandoffRequest(reason=reason, priority=priority, topic=body.get("topic"), note=body.get("note"))
