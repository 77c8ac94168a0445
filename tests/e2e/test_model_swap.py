"""A deploy on the real Rasa server (tuning.deploy, through PUT /model): a conversation in progress keeps its
tracker — its history, its slots and its open form — and goes on where it was on the new model; the rollback
puts the old model back."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path

from bot_gateway.client import RasaGateway

from .harness import Stack
from .test_model_pages import evaluation

logger = logging.getLogger(__name__)

LOST_CARD = "I lost my card ending 4242"


def deploy_copy(stack: Stack, model: Path) -> float:
    """A candidate at `model`, as good as production, deployed by the portal's service; the seconds it took."""
    scores = json.dumps(json.dumps(evaluation(0.9, 12, 0)))
    return stack.django(f"""
        import time
        from tuning import deploy, selectors
        from tuning.models import ModelVersion
        base = selectors.in_production()
        base.evaluation = json.loads({scores})
        base.save()
        candidate = ModelVersion.objects.create(name="{model.name.removesuffix('.tar.gz')}", path="{model}",
                                                evaluation=json.loads({scores}))
        started = time.monotonic()
        deploy.model_deploy(model_version=candidate, by=None, reason="e2e: a swap mid-conversation")
        print(json.dumps(time.monotonic() - started))
    """)


def roll_back(stack: Stack) -> None:
    stack.django("""
        from tuning import deploy
        print(json.dumps(deploy.model_rollback(by=None, reason="e2e: back").model_version.name))
    """)


def test_a_conversation_in_progress_keeps_its_tracker_across_a_model_swap(stack: Stack, tmp_path: Path) -> None:
    gateway = RasaGateway(stack.config.rasa_url, read_timeout=60, connect_timeout=5, token=stack.config.rasa_token)
    original = str(stack.config.model_path.resolve())
    # The same model under another name: a real load of a new agent, and /status tells the two apart.
    swapped = tmp_path / "model-swapped.tar.gz"
    shutil.copy(original, swapped)
    sender = str(uuid.uuid4())

    # A verified customer (the portal's metadata): the form asks an anonymous one nothing.
    customer = f"e2e-swap-{sender[:8]}"
    gateway.send_message(sender, LOST_CARD, message_id=1, customer_id=customer)
    before = gateway.fetch_tracker(sender)
    assert (before["active_loop"].get("name"), before["slots"]["card_last_four"]) == ("card_block_form", "4242")
    assert before["slots"]["requested_slot"] == "block_confirmed"

    took = deploy_copy(stack, swapped)
    logger.warning("the deploy took %.1f s", took)  # shown with -rA: the swap's pause
    try:
        assert gateway.loaded_model() == swapped.name
        after = gateway.fetch_tracker(sender)
        assert after["events"] == before["events"]
        assert after["active_loop"].get("name") == "card_block_form"

        # the form's question, answered on the new model
        gateway.send_message(sender, "yes", message_id=2, customer_id=customer)
        finished = gateway.fetch_tracker(sender)
        assert not finished["active_loop"].get("name")  # the form ended: the card was named before the swap
        assert "action_block_card" in [e.get("name") for e in finished["events"] if e["event"] == "action"]
        assert [e["text"] for e in finished["events"] if e["event"] == "user"] == [LOST_CARD, "yes"]
    finally:
        roll_back(stack)  # the session's other tests expect the model they started on
    assert gateway.loaded_model() == Path(original).name
