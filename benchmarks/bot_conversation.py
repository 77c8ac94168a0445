"""The routine conversation the bot benchmarks send (bot_turn.py to Rasa, encoder.py to the sentence encoder):
every message gets an answer from the bot itself, no handoff. Standard library only: both Pythons import it."""

CONVERSATION = [
    "hi",
    "what time do you open on saturday",
    "when will my new card arrive",
    "how much does it cost to take cash out abroad",
    "how do I top up my account",
    "thanks",
    "bye",
]
