"""`action_answer_faq`: answers a routine question from the bank's policy (bank_policy.yml).

A question asked again (the first answer did not help) or asked in angry words goes to a person instead.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bank_policy import bank_policy
from actions.conversation import earlier_user_intents, latest_intent, latest_text
from actions.handoff import hand_off_for
from contracts.handoff import HandoffReason


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        policy = bank_policy()
        topic = latest_intent(tracker)
        answer = policy.answer(topic) if topic else None
        if answer is None:
            raise ValueError(f"bank_policy.yml has no answer for the topic {topic!r}")
        if topic in earlier_user_intents(tracker) or policy.sounds_frustrated(latest_text(tracker)):
            return hand_off_for(HandoffReason.FRUSTRATION)
        dispatcher.utter_message(text=answer)
        return []
