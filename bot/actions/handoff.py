"""`action_handoff`: the one place the bot asks the portal to hand a conversation to a person.

It tells the customer, then sends the portal the handoff request (contracts.handoff) as a `custom` payload.
An action that detects a reason to hand off (fallback, frustration, card verification) sets the `handoff_*`
slots with `hand_off_for()` and has action_handoff run next; otherwise the reason and priority are the ones
bank_policy.yml gives the topic the customer raised (fraud, complaint, ...).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.bank_policy import BankPolicy, bank_policy
from actions.conversation import (
    bot_action_before_latest_message,
    latest_intent,
    latest_topic,
    slot_set_this_turn,
)
from actions.triage import finding_of, previous_user_parse, screen_request, with_screen
from contracts.handoff import HandoffReason, HandoffRequest, Priority, handoff_payload

REASON_SLOT, PRIORITY_SLOT, NOTE_SLOT = "handoff_reason", "handoff_priority", "handoff_note"
OUT_OF_SCOPE_OFFER = "utter_out_of_scope"
SCREEN_ASKED = "action_screen"
FRAUD_SIGNAL = "fraud_signal"  # entity: words that mean fraud inside a routine topic

NOTES = {
    HandoffReason.LOW_CONFIDENCE: "The bot could not understand the customer, even after a rephrase",
    HandoffReason.REPEATED_FALLBACK: "The bot misunderstood the customer several times",
    HandoffReason.FRUSTRATION: "The customer is frustrated (angry words, or asked the same thing again)",
    HandoffReason.OUT_OF_SCOPE_OFFER_ACCEPTED: "Out-of-scope question; the customer accepted a person",
    HandoffReason.VERIFICATION_FAILED: "Lost/stolen card: the customer could not confirm which card",
    HandoffReason.CUSTOMER_NOT_VERIFIED: (
        "Lost/stolen card, card NOT blocked: the customer is not signed in at the bank; check who they are"
    ),
}


def hand_off_for(
    reason: HandoffReason, *, note: str | None = None, priority: Priority | None = None
) -> list[dict[str, Any]]:
    """The events an action returns to have action_handoff run next, for `reason`."""
    events = [SlotSet(REASON_SLOT, reason.value)]
    if note:
        events.append(SlotSet(NOTE_SLOT, note))
    if priority:
        events.append(SlotSet(PRIORITY_SLOT, priority.value))
    return events + [FollowupAction("action_handoff")]


def _detected_request(tracker: Tracker, policy: BankPolicy, topic: str | None) -> HandoffRequest | None:
    """The handoff an earlier action asked for this turn with hand_off_for(), if any."""
    detected = slot_set_this_turn(tracker, REASON_SLOT)
    if not detected:
        return None
    reason = HandoffReason(detected)
    priority = slot_set_this_turn(tracker, PRIORITY_SLOT)
    finding = finding_of(tracker.latest_message)
    return HandoffRequest(
        reason=reason,
        priority=Priority(priority) if priority else policy.priority_for(reason),
        topic=finding["topic"] if reason is HandoffReason.SAFETY_SCREEN and finding else topic,
        note=slot_set_this_turn(tracker, NOTE_SLOT) or NOTES.get(reason),
    )


def decide_handoff(tracker: Tracker, policy: BankPolicy) -> HandoffRequest:
    """Why, how urgently and about what this conversation goes to a person; a safety screen finding on the
    latest message raises the priority and adds its care note whatever the reason."""
    return with_screen(_decide_handoff(tracker, policy), finding_of(tracker.latest_message))


def _decide_handoff(tracker: Tracker, policy: BankPolicy) -> HandoffRequest:
    topic = latest_topic(tracker)
    detected = _detected_request(tracker, policy, topic)
    if detected:
        return detected
    asked = finding_of(previous_user_parse(tracker))
    if latest_intent(tracker) == "affirm" and asked and bot_action_before_latest_message(tracker) == SCREEN_ASKED:
        return screen_request(asked)  # the screen asked "shall I put you through?" and the customer said yes
    rule = policy.handoff_topics.get(latest_intent(tracker) or "")
    if rule:
        return HandoffRequest(rule.reason, rule.priority, topic, rule.note)
    signals = list(tracker.get_latest_entity_values(FRAUD_SIGNAL))
    if signals:
        fraud = policy.handoff_topics["report_fraud"]
        return HandoffRequest(fraud.reason, fraud.priority, topic, f'{fraud.note}: "{signals[0]}"')
    if latest_intent(tracker) == "affirm" and bot_action_before_latest_message(tracker) == OUT_OF_SCOPE_OFFER:
        reason = HandoffReason.OUT_OF_SCOPE_OFFER_ACCEPTED
        return HandoffRequest(reason, policy.priority_for(reason), topic, NOTES[reason])
    # Reached without a known trigger: the bot does not know why, which is itself a reason for a person.
    reason = HandoffReason.LOW_CONFIDENCE
    return HandoffRequest(reason, policy.priority_for(reason), topic, "Handoff without a recognised trigger")


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        request = decide_handoff(tracker, bank_policy())
        urgent = request.priority is Priority.URGENT
        dispatcher.utter_message(response="utter_handoff_urgent" if urgent else "utter_handoff")
        dispatcher.utter_message(json_message=handoff_payload(request))
        # The slots show the agent why (context packet); the person takes over, so the bot says nothing more.
        return [
            SlotSet(REASON_SLOT, request.reason.value),
            SlotSet(PRIORITY_SLOT, request.priority.value),
            SlotSet(NOTE_SLOT, request.note),
            FollowupAction("action_listen"),
        ]
