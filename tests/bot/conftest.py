"""Bot tests: run in the bot's environment, from the repo root: `bot/.venv/bin/python -m pytest tests/bot`.

bot/ goes on the path so `actions`, `channels` and `nlp` import as they do under Rasa (cwd bot/);
pyproject.toml's pytest `pythonpath` already puts the repo root (`contracts`) there.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
TRACKERS = Path(__file__).resolve().parent / "trackers"
if str(BOT) not in sys.path:
    sys.path.insert(0, str(BOT))

from rasa_sdk import Action, Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402


def load_tracker(name: str) -> Tracker:
    """A conversation saved as Rasa's tracker JSON (tests/bot/trackers/<name>.json)."""
    state: Dict[str, Any] = json.loads((TRACKERS / f"{name}.json").read_text())
    return Tracker.from_dict(state)


def run_action(action: Action, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]):
    """The events `action` returns, run as the action server runs it (a coroutine)."""
    return asyncio.run(action.run(dispatcher, tracker, domain))


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    import yaml

    return yaml.safe_load((BOT / "domain.yml").read_text())
