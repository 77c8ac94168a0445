"""What the bot does when the safety screen flags a message (bot/components/sensitive_screen.py).

`action_screen` hands off (reason `safety_screen`, the topic's priority and care note), or, where the topic is
only possibly sensitive, asks once with Yes/No buttons: on yes the rule runs action_handoff, on no
`action_screen_declined` answers what the customer had asked.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bank_policy import bank_policy
from actions.handoff import hand_off_for
from actions.triage import HAND_OFF, finding_of, previous_user_parse, screen_request, screen_topics
from contracts.handoff import HandoffReason

ASK_BUTTONS = ({"title": "Yes, please", "payload": "/affirm"}, {"title": "No, thanks", "payload": "/deny"})


class ActionScreen(Action):
    """The screen flagged the latest message: hand off, or ask once whether the customer wants a person."""

    def name(self) -> str:
        return "action_screen"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        finding = finding_of(tracker.latest_message)
        if finding is None:  # the rule ran without a finding: the safe side is a person
            return hand_off_for(HandoffReason.SAFETY_SCREEN, note="Safety screen rule without a finding")
        if finding["decision"] == HAND_OFF:
            request = screen_request(finding)
            return hand_off_for(request.reason, note=request.note, priority=request.priority)
        label = screen_topics()[finding["topic"]].label
        dispatcher.utter_message(
            text=f"Before I answer: is this about {label}? If it is, a member of our team is the best "
            "person to help. Shall I put you through?",
            buttons=list(ASK_BUTTONS),
        )
        return []


class ActionScreenDeclined(Action):
    """The customer said no to a person after the screen asked: answer what they had asked, if it is routine."""

    def name(self) -> str:
        return "action_screen_declined"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        finding = finding_of(previous_user_parse(tracker)) or {}
        answer = bank_policy().answer(finding.get("intent") or "")
        if answer:
            dispatcher.utter_message(text=answer)
        else:
            dispatcher.utter_message(response="utter_how_can_i_help")
        return []
