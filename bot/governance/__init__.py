"""How good a trained model is, judged in the bot's own Python: the held-out sets through the real
actions (heldout.py, shared with tests/bot) and a candidate's training and evaluation for the portal
(candidate.py)."""
