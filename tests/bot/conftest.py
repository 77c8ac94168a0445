"""Bot tests: run in the bot's environment, from the repo root: `bot/.venv/bin/python -m pytest tests/bot`.

bot/ goes on the path so `actions`, `channels` and `nlp` import as they do under Rasa (cwd bot/);
pyproject.toml's pytest `pythonpath` already puts the repo root (`contracts`) there.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
TRACKERS = Path(__file__).resolve().parent / "trackers"
if str(BOT) not in sys.path:
    sys.path.insert(0, str(BOT))

from governance import heldout
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


def load_tracker(name: str) -> Tracker:
    """A conversation saved as Rasa's tracker JSON (tests/bot/trackers/<name>.json)."""
    state: dict[str, Any] = json.loads((TRACKERS / f"{name}.json").read_text())
    return Tracker.from_dict(state)


def run_action(action: Action, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
    """The events `action` returns, run as the action server runs it (a coroutine)."""
    return asyncio.run(action.run(dispatcher, tracker, domain))


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    import yaml

    return yaml.safe_load((BOT / "domain.yml").read_text())


def trained_model() -> Path:
    """$SWITCHBOARD_MODEL, else the newest bot/models/*.tar.gz (`cd bot && .venv/bin/rasa train`)."""
    chosen = os.environ.get("SWITCHBOARD_MODEL")
    if chosen:
        return Path(chosen)
    models = sorted((BOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.fail("no trained model: run `cd bot && .venv/bin/rasa train` or set SWITCHBOARD_MODEL")
    return models[-1]


@pytest.fixture(scope="session")
def action_server() -> Iterator[str]:
    """The real action server (bot/actions), as `./switchboard run` starts it, on a free port."""
    with heldout.action_server() as url:
        yield url


@pytest.fixture(scope="session")
def event_loop_for_bot() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def bot_agent(action_server, event_loop_for_bot):
    """The trained model loaded once in-process (Rasa's Agent), talking to the real action server."""
    return heldout.load_agent(trained_model(), action_server)
