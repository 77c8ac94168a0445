"""Lost or stolen card: the form confirms which card (its last four digits), then `action_block_card` blocks it
through the bank core client.

A customer who cannot name one of their cards after the allowed attempts, or a core that does not answer,
goes to a person: a lost card must not be left unblocked because the bot could not do it.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.bank_core import BankCoreUnavailable, bank_core
from actions.bank_policy import bank_policy
from actions.handoff import hand_off_for
from contracts.handoff import HandoffReason, Priority

FORM_SLOTS = ("block_confirmed", "card_verification_attempts", "card_verification_failed")


def four_digits(value: Any) -> str | None:
    """ "4242", "****4242", "ending 4242" → "4242"; anything else → None."""
    digits = re.sub(r"\D", "", str(value or ""))
    return digits if len(digits) == 4 else None


class ValidateCardBlockForm(FormValidationAction):
    def name(self) -> str:
        return "validate_card_block_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # Once verification has failed nothing more is asked: the form ends and action_block_card hands off.
        return [] if tracker.get_slot("card_verification_failed") else domain_slots

    def validate_card_last_four(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        policy = bank_policy()
        last_four = four_digits(value)
        if last_four is None:
            dispatcher.utter_message(
                text="That doesn't look like four digits. Please type just the last four."
            )
            return {"card_last_four": None}
        try:
            card = bank_core().find_card(
                tracker.sender_id, last_four, timeout=policy.bank_core_timeout_seconds
            )
        except BankCoreUnavailable:
            return {
                "card_last_four": last_four
            }  # cannot check now; blocking will hand off if the core stays down
        if card is not None:
            return {"card_last_four": last_four}
        attempts = int(tracker.get_slot("card_verification_attempts") or 0) + 1
        if attempts >= policy.card_verification_attempts:
            return {
                "card_last_four": None,
                "card_verification_attempts": attempts,
                "card_verification_failed": True,
            }
        dispatcher.utter_message(
            text=f"I can't find a card ending {last_four} on your account. Please check the long number on the "
            "front or back of the card and tell me its last four digits."
        )
        return {"card_last_four": None, "card_verification_attempts": attempts}


class ActionBlockCard(Action):
    """Runs when the form is done: blocks the confirmed card, or stands down, or hands off."""

    def name(self) -> str:
        return "action_block_card"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        if tracker.get_slot("card_verification_failed"):
            return reset + hand_off_for(HandoffReason.VERIFICATION_FAILED)
        if not tracker.get_slot("block_confirmed"):
            dispatcher.utter_message(response="utter_card_block_cancelled")
            return reset
        policy = bank_policy()
        last_four = tracker.get_slot("card_last_four")
        try:
            blocked = bank_core().block_card(
                tracker.sender_id, last_four, timeout=policy.bank_core_timeout_seconds
            )
        except BankCoreUnavailable:
            # Not blocked: a person must do it now, as urgently as fraud.
            note = f"Card ending {last_four} NOT blocked: the bank core did not answer. Block it now."
            return reset + hand_off_for(HandoffReason.SENSITIVE_TOPIC, note=note, priority=Priority.URGENT)
        dispatcher.utter_message(
            text=f"Done: your {blocked.card.description} ending {last_four} is blocked, so nobody can use it "
            f"(reference {blocked.block_reference}). A replacement with a new number will arrive in "
            f"{policy.facts['replacement_card_days']}. If you see a payment you don't recognise, tell me and "
            "I'll put you through to our fraud team."
        )
        return reset
