"""A deploy's swap on the real Rasa server (PUT /model, what tuning.deploy calls): a conversation in progress keeps
its tracker — its history, its slots and its open form — and goes on where it was on the new model."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from pathlib import Path

from bot_gateway.client import RasaGateway

from .harness import Stack

logger = logging.getLogger(__name__)

LOST_CARD = "I lost my card ending 4242"


def test_a_conversation_in_progress_keeps_its_tracker_across_a_model_swap(stack: Stack, tmp_path: Path) -> None:
    gateway = RasaGateway(stack.config.rasa_url, read_timeout=60, connect_timeout=5, token=stack.config.rasa_token)
    original = str(stack.config.model_path.resolve())
    # The same model under another name: a real load of a new agent, and /status tells the two apart.
    swapped = tmp_path / "model-swapped.tar.gz"
    shutil.copy(original, swapped)
    sender = str(uuid.uuid4())

    gateway.send_message(sender, LOST_CARD, message_id=1)
    before = gateway.fetch_tracker(sender)
    assert (before["active_loop"].get("name"), before["slots"]["card_last_four"]) == ("card_block_form", "4242")
    assert before["slots"]["requested_slot"] == "block_confirmed"

    started = time.monotonic()
    gateway.replace_model(str(swapped), timeout=300)
    logger.warning("PUT /model took %.1f s", time.monotonic() - started)  # shown with -rA: the swap's pause
    try:
        assert gateway.loaded_model() == swapped.name
        after = gateway.fetch_tracker(sender)
        assert after["events"] == before["events"]
        assert after["active_loop"].get("name") == "card_block_form"

        gateway.send_message(sender, "yes", message_id=2)  # the form's question, answered on the new model
        finished = gateway.fetch_tracker(sender)
        assert not finished["active_loop"].get("name")  # the form ended: the card was named before the swap
        assert "action_block_card" in [e.get("name") for e in finished["events"] if e["event"] == "action"]
        assert [e["text"] for e in finished["events"] if e["event"] == "user"] == [LOST_CARD, "yes"]
    finally:
        gateway.replace_model(original, timeout=300)  # the session's other tests expect the model they started on
    assert gateway.loaded_model() == Path(original).name
