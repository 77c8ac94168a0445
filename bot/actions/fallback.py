"""The two-stage fallback's steps, customised: how the bot asks "did you mean…?", and what it does when it
gives up (hands off, instead of Rasa's default of apologising and forgetting the message).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bank_policy import bank_policy
from actions.conversation import NLU_FALLBACK, misunderstandings
from actions.handoff import hand_off_for
from contracts.handoff import HandoffReason

DENY_PAYLOAD = "/out_of_scope"  # what Rasa's two-stage fallback reads as "no, that's not what I meant"


def best_guess(tracker: Tracker) -> str | None:
    """The intent the bot thinks most likely for the latest message, passing over the fallback itself."""
    ranking = tracker.latest_message.get("intent_ranking") or []
    guesses = [entry.get("name") for entry in ranking if entry.get("name") != NLU_FALLBACK]
    return guesses[0] if guesses else None


class ActionDefaultAskAffirmation(Action):
    """First stage: "Did you mean a question about …?" with Yes/No. Instead, a handoff: after too many
    misunderstandings, or when the best guess is a topic only a person handles (someone who may be reporting
    fraud is not quizzed: a person is the safe side of the doubt)."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        policy = bank_policy()
        if misunderstandings(tracker) >= policy.repeated_fallback_limit:
            return hand_off_for(HandoffReason.REPEATED_FALLBACK)
        guess = best_guess(tracker)
        sensitive = policy.handoff_topics.get(guess or "")
        if sensitive:
            note = f"{sensitive.note} (the bot was unsure: best guess {guess})"
            return hand_off_for(sensitive.reason, note=note, priority=sensitive.priority)
        if guess is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(
            text=f"Sorry, I'm not sure I understood. Did you mean a question about {policy.label(guess)}?",
            buttons=[{"title": "Yes", "payload": f"/{guess}"}, {"title": "No", "payload": DENY_PAYLOAD}],
        )
        return []


class ActionDefaultFallback(Action):
    """The two-stage fallback ran out (still not understood after a rephrase): a person takes over."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return hand_off_for(HandoffReason.LOW_CONFIDENCE)
