"""Runs the bot's `python -m governance.candidate` (bot/governance/candidate.py) in the bot's own Python, a child
process: never Rasa in the portal's. Its stdout is JSON progress lines, its stderr the log (kept in the run's
folder; its tail says why a run failed); docs/tuning.md describes both."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from tuning.bot_python import bot_command, bot_environment

LOG_FILE = "training.log"
LOG_TAIL_LINES = 40
LOG_TAIL_CHARS = 6000


@dataclass(frozen=True)
class RunResult:
    ok: bool
    error: str  # one sentence: why it failed ("" when ok)
    log_tail: str  # the log's last lines ("" when ok)


def run_candidate(
    args: list[str], folder: Path, on_progress: Callable[[str, float], None], timeout: float
) -> RunResult:
    """`python -m governance.candidate ARGS` from bot/, its log in folder/training.log; each progress line is
    passed on as it comes. Killed past `timeout` seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / LOG_FILE
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            bot_command("governance.candidate", *args),
            cwd=settings.BOT_DIR,
            env=bot_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            errors="replace",
        )
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            process.kill()

        timer = threading.Timer(timeout, stop)
        timer.start()
        error = ""
        try:
            assert process.stdout is not None  # opened with stdout=PIPE
            for line in process.stdout:
                try:
                    report = json.loads(line)
                    stage, progress = str(report["stage"]), float(report["progress"])
                except (ValueError, KeyError, TypeError):
                    continue  # not a progress line: nothing else is written there, but never trust it
                if report.get("error"):
                    error = str(report["error"])
                else:
                    on_progress(stage, progress)
            code = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:  # on_progress raised: do not leave the child running
                process.kill()
                process.wait()
    if code == 0:
        return RunResult(ok=True, error="", log_tail="")
    if timed_out.is_set():
        error = f"it ran past its time limit ({timeout:.0f} s) and was stopped"
    return RunResult(
        ok=False, error=error or f"the bot's training process exited with status {code}", log_tail=tail(log_path)
    )


def tail(path: Path) -> str:
    """The log's last lines, bounded: enough to see why, never the whole log in a database row."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])[-LOG_TAIL_CHARS:]
