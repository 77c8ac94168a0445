"""Running a module of the bot's governance code (bot/governance/) in the bot's own Python: Rasa, its sentence
encoder and its data live there, never in the portal's process (docs/tuning.md)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings

STDERR_TAIL_LINES = 20


class BotPythonError(Exception):
    """The bot's Python could not run the module, or the module failed; the message ends with its stderr's tail."""


def bot_command(module: str, *args: str) -> list[str]:
    return [str(settings.BOT_PYTHON), "-m", module, *args]


def bot_environment() -> dict[str, str]:
    """What every bot command gets (scripts/launcher.py's bot_base_env): bot/ and the repository root above it
    (`contracts`) importable, Rasa's telemetry off, output unbuffered so progress arrives as it happens."""
    bot = Path(settings.BOT_DIR)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(bot), str(bot.parent)]),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        "PYTHONUNBUFFERED": "1",
    }


def run_json(module: str, request: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    """Send `request` as JSON on the module's stdin and return the JSON it writes on stdout."""
    try:
        done = subprocess.run(
            bot_command(module),
            input=json.dumps(request),
            capture_output=True,
            text=True,
            cwd=settings.BOT_DIR,
            env=bot_environment(),
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as failed:
        raise BotPythonError(f"{module}: {failed}") from failed
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-STDERR_TAIL_LINES:])
        raise BotPythonError(f"{module} exited with {done.returncode}:\n{tail}")
    try:
        answer = json.loads(done.stdout)
    except ValueError as bad:
        raise BotPythonError(f"{module} did not answer JSON: {done.stdout[:200]!r}") from bad
    if not isinstance(answer, dict):
        raise BotPythonError(f"{module} answered {type(answer).__name__}, not an object")
    return answer
