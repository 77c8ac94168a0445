"""Bot tests: run in the bot's environment, from the repo root: `bot/.venv/bin/python -m pytest tests/bot`.

bot/ goes on the path so `actions`, `channels` and `nlp` import as they do under Rasa (cwd bot/);
pyproject.toml's pytest `pythonpath` already puts the repo root (`contracts`) there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
TRACKERS = Path(__file__).resolve().parent / "trackers"
if str(BOT) not in sys.path:
    sys.path.insert(0, str(BOT))

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"action server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"action server not healthy at {url} after {timeout} s")


@pytest.fixture(scope="session")
def action_server() -> Iterator[str]:
    """The real action server (bot/actions), as `./switchboard run` starts it, on a free port."""
    port = _free_port()
    root = str(BOT.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BOT), root])}
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=BOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def event_loop_for_bot() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def bot_agent(action_server, event_loop_for_bot):
    """The trained model loaded once in-process (Rasa's Agent), talking to the real action server."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # as a library Rasa logs every parse and policy state at debug

    cwd = Path.cwd()
    os.chdir(BOT)  # the model's SpacyNLP loads "spacy_pipeline" relative to bot/, as under Rasa
    try:
        return Agent.load(
            str(trained_model()), action_endpoint=EndpointConfig(url=f"{action_server}/webhook")
        )
    finally:
        os.chdir(cwd)
