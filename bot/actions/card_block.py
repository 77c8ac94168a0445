"""Lost or stolen card: the form confirms which card (its last four digits), then `action_block_card` blocks it
through the bank core client.

Blocking a card touches an account, so it is done only for a customer the bank's site vouched for
(actions/customer.py), on that customer's account; anyone else goes to a person at once
(`customer_not_verified`), who can check who they are. A verified customer who cannot name one of their cards
after the allowed attempts, counted per customer across conversations and restarts (actions/attempts.py), or a
core that does not answer, goes to a person too: a lost card must not be left unblocked because the bot could
not do it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.attempts import AttemptsUnavailable, attempt_store
from actions.bank_core import BankCoreUnavailable, bank_core
from actions.bank_policy import BankPolicy, bank_policy
from actions.customer import verified_customer_id
from actions.handoff import hand_off_for
from contracts.handoff import HandoffReason, Priority

logger = logging.getLogger(__name__)

FORM_SLOTS = ("block_confirmed", "card_verification_attempts", "card_verification_failed")


def four_digits(value: Any) -> str | None:
    """ "4242", "****4242", "ending 4242" → "4242"; anything else → None."""
    digits = re.sub(r"\D", "", str(value or ""))
    return digits if len(digits) == 4 else None


def attempts_key(customer_id: str) -> str:
    return f"customer:{customer_id}"


def out_of_attempts(customer_id: str, policy: BankPolicy) -> bool:
    """Whether the customer has used up their tries (in this conversation or an earlier one); a count that
    cannot be read counts as used up: a person checks instead."""
    try:
        return attempt_store().count(attempts_key(customer_id)) >= policy.card_verification_attempts
    except AttemptsUnavailable as exc:
        logger.warning("card verification attempts unreadable, handing off: %s", exc)
        return True


class ValidateCardBlockForm(FormValidationAction):
    def name(self) -> str:
        return "validate_card_block_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # Nothing is asked of a customer the bank has not vouched for, nor of one out of tries: the form ends
        # and action_block_card hands off.
        customer_id = verified_customer_id(tracker)
        if (
            customer_id is None
            or tracker.get_slot("card_verification_failed")
            or out_of_attempts(customer_id, bank_policy())
        ):
            return []
        return domain_slots

    def validate_card_last_four(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        policy = bank_policy()
        customer_id = verified_customer_id(tracker)
        if customer_id is None:  # digits said at the start: nothing is looked up, the form ends and hands off
            return {"card_last_four": None}
        last_four = four_digits(value)
        if last_four is None:
            dispatcher.utter_message(
                text="That doesn't look like four digits. Please type just the last four."
            )
            return {"card_last_four": None}
        try:
            card = bank_core().find_card(customer_id, last_four, timeout=policy.bank_core_timeout_seconds)
        except BankCoreUnavailable:
            return {
                "card_last_four": last_four
            }  # cannot check now; blocking will hand off if the core stays down
        store, key = attempt_store(), attempts_key(customer_id)
        try:
            if card is not None:
                store.clear(key)  # confirmed: earlier wrong answers no longer count against them
                return {"card_last_four": last_four}
            attempts = store.add(key, policy.card_verification_window_seconds)
        except AttemptsUnavailable as exc:
            logger.warning("card verification attempts unwritable, handing off: %s", exc)
            return {"card_last_four": None, "card_verification_failed": True}
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
        policy = bank_policy()
        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            return reset + hand_off_for(HandoffReason.CUSTOMER_NOT_VERIFIED)
        if tracker.get_slot("card_verification_failed") or out_of_attempts(customer_id, policy):
            return reset + hand_off_for(HandoffReason.VERIFICATION_FAILED)
        if not tracker.get_slot("block_confirmed"):
            dispatcher.utter_message(response="utter_card_block_cancelled")
            return reset
        last_four = tracker.get_slot("card_last_four")
        try:
            blocked = bank_core().block_card(customer_id, last_four, timeout=policy.bank_core_timeout_seconds)
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
