"""The two Python environments Switchboard runs in, built once and cached outside the repo.

The portal runs on the machine's default Python (3.11+); the bot on Python 3.10, because Rasa 3.6
supports 3.8-3.10 only. Each virtualenv lives in the cache folder under a name keyed by a hash of its
requirements, so a fresh clone (CI's, say) reuses it, and a change to the requirements builds a new one.
`.venv` and `bot/.venv` in the work tree are links to them.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("SWITCHBOARD_CACHE", Path.home() / ".cache" / "switchboard"))
BOT_PYTHON_VERSION = "3.10"

Command = list[str | Path]


class SetupError(RuntimeError):
    """A set-up step cannot go on; the message says what the user must do."""


def digest(*paths: Path, extra: str = "") -> str:
    """A short hash of files' (or folders') contents, to key cached builds."""
    h = hashlib.sha256(extra.encode())
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if "__pycache__" in f.parts:
                continue
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def run(cmd: Command, **kwargs: Any) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def find_bot_python() -> str:
    """Python 3.10 for the bot: $SWITCHBOARD_BOT_PYTHON, then python3.10 on PATH, then pyenv."""
    candidates = [os.environ.get("SWITCHBOARD_BOT_PYTHON"), shutil.which("python3.10")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p / "bin" / "python3.10") for p in sorted(pyenv_root.glob("versions/3.10.*"))]
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        out = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.stdout.strip() == BOT_PYTHON_VERSION:
            return candidate
    raise SetupError(
        "The bot needs Python 3.10 (Rasa 3.6 runs on Python 3.8-3.10 only) and none was found.\n"
        "Install it (for example `pyenv install 3.10`) or set SWITCHBOARD_BOT_PYTHON to its path."
    )


def portal_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements: list[str] = project["dependencies"] + project["optional-dependencies"]["test"]
    return requirements


@contextmanager
def build_lock(key: str) -> Iterator[None]:
    """One build of `key` at a time, across processes (a developer's run and CI's may overlap)."""
    lock_dir = CACHE / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_venv(link: Path, python: str, key: str, install: Callable[[Command], None]) -> Path:
    """Build (once) the cached venv named by `key` and point `link` at it."""
    venv = CACHE / "venvs" / key
    with build_lock(key):
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            venv.parent.mkdir(parents=True, exist_ok=True)
            run([python, "-m", "venv", venv])
            pip: Command = [
                venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q"
            ]
            run(pip + ["--upgrade", "pip"])
            install(pip)
            (venv / ".complete").touch()
    if link.is_symlink() or link.exists():
        if link.resolve() == venv.resolve():
            return venv
        link.unlink() if link.is_symlink() else shutil.rmtree(link)
    link.symlink_to(venv)
    return venv


def ensure_portal_env() -> Path:
    requirements = portal_requirements()
    # Keyed on the requirement list itself, so editing pytest or ruff settings in pyproject.toml rebuilds nothing.
    key = "portal-" + digest(extra=sys.version + "\n".join(requirements))
    return ensure_venv(ROOT / ".venv", sys.executable, key, lambda pip: run([*pip, *requirements]))


def ensure_bot_env() -> Path:
    python = find_bot_python()
    bot = ROOT / "bot"
    req, nodeps, test = (
        bot / "requirements.txt",
        bot / "requirements-nodeps.txt",
        bot / "requirements-test.txt",
    )
    key = "bot-" + digest(req, nodeps, test, extra=python)

    def install(pip: Command) -> None:
        run(pip + ["-r", req, "-r", test])  # the test tools (pytest) are not Rasa's runtime: own file
        run(pip + ["--no-deps", "-r", nodeps])

    return ensure_venv(ROOT / "bot" / ".venv", python, key, install)


if __name__ == "__main__":
    which = sys.argv[1:] or ["portal", "bot"]
    try:
        for name in which:
            print({"portal": ensure_portal_env, "bot": ensure_bot_env}[name]())
    except SetupError as exc:
        sys.exit(f"switchboard: {exc}")
