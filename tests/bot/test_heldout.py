"""The trained model on bot/tests/heldout.csv: messages written differently from the training data and never
used in training. Floors: intent accuracy, and every escalation message must reach a handoff (checked both on
the predicted intent and on the conversation itself: the bot's reply carries the handoff payload).

The model: $SWITCHBOARD_MODEL, else the newest bot/models/*.tar.gz (`cd bot && .venv/bin/rasa train`).
"""

from __future__ import annotations

import pytest
from governance.heldout import classified_intent, escalation_intents, heldout, run_turns

from tests.bot.conftest import BOT

# Measured 0.988 (158/160) with config.yml's SentenceEmbeddingIntentClassifier (docs/handoff.md, Quality);
# the floor sits just below. A classifier swap re-measures and moves it.
INTENT_ACCURACY_FLOOR = 0.97


@pytest.fixture(scope="module")
def predictions(bot_agent, event_loop_for_bot) -> dict[str, str]:
    async def parse_all() -> dict[str, str]:
        return {text: classified_intent(await bot_agent.parse_message(text)) for text, _ in heldout()}

    return event_loop_for_bot.run_until_complete(parse_all())


def test_heldout_set_is_big_and_unseen():
    rows = heldout()
    assert len(rows) >= 150
    training_text = "\n".join(
        p.read_text(encoding="utf-8").lower() for p in (BOT / "data" / "nlu").glob("*.yml")
    )
    assert [text for text, _ in rows if f"- {text.lower()}\n" in training_text] == []


def test_intent_accuracy_floor(predictions):
    rows = heldout()
    wrong = [(text, intent, predictions[text]) for text, intent in rows if predictions[text] != intent]
    accuracy = 1 - len(wrong) / len(rows)
    print(f"\nheld-out intent accuracy: {accuracy:.3f} ({len(rows) - len(wrong)}/{len(rows)})")
    for text, intent, predicted in wrong:
        print(f"  {intent:>30} -> {predicted:<30} {text}")
    handed_off = escalation_intents()
    escalations = [text for text, intent in rows if intent in handed_off]
    by_intent = sum(predictions[text] in handed_off for text in escalations)
    print(f"escalation messages predicted as an escalation intent: {by_intent}/{len(escalations)}")
    assert accuracy >= INTENT_ACCURACY_FLOOR


def test_every_escalation_message_gets_a_handoff_reply(bot_agent, event_loop_for_bot):
    """Each escalation message, first in a new conversation, through NLU, rules and the real actions, must get
    the handoff payload back: by its intent's rule, or by the fallback when the bot is unsure but its best
    guess is a sensitive topic."""
    escalations = [text for text, intent in heldout() if intent in escalation_intents()]
    turns = event_loop_for_bot.run_until_complete(run_turns(bot_agent, escalations))
    assert [text for text in escalations if not turns[text].handoff] == []
