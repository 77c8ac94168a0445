"""A small process supervisor for Switchboard's stack: Rasa, the action server, the portal, Celery.

`./switchboard run` and the end-to-end tests' harness both start the stack through it, so the two run
the very same commands. Each service runs in its own process group (its own session), so stopping it
stops its children too (Celery's pool, Rasa's workers), and Ctrl-C in the terminal reaches only the
supervisor, which then stops the services in reverse order. Standard library only: it runs under
the machine's Python as well as inside the portal's venv.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self, TextIO

ROOT = Path(__file__).resolve().parent.parent
PORTAL_PYTHON_BIN = ROOT / ".venv" / "bin"
BOT_PYTHON_BIN = ROOT / "bot" / ".venv" / "bin"
STOP_GRACE_SECONDS = 10.0


class ServiceFailed(RuntimeError):
    """A service exited, or did not become healthy in time."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when `url` answers below 500 (a 404 still proves the server is up and routing)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


@dataclass
class Service:
    """One long-running process and how to tell it is ready."""

    name: str
    argv: Sequence[str]
    cwd: Path
    env: dict[str, str]
    probe: Callable[[], bool] | None = None  # polled until True
    ready_line: str | None = None  # or: a regex its output prints once ready
    startup_timeout: float = 180.0


@dataclass
class Running:
    service: Service
    process: subprocess.Popen
    log_path: Path
    tail: deque = field(default_factory=lambda: deque(maxlen=200))
    saw_ready_line: threading.Event = field(default_factory=threading.Event)
    pump: threading.Thread | None = None  # copies its output; done once the process has closed it

    def is_ready(self) -> bool:
        if self.service.ready_line and not self.saw_ready_line.is_set():
            return False
        return self.service.probe() if self.service.probe else True


class Supervisor:
    """Starts services, waits until they are healthy, and stops them all, children included."""

    def __init__(self, log_dir: Path, echo: TextIO | None = None) -> None:
        self.log_dir = log_dir
        self.echo = echo  # where to copy every output line, prefixed by the service name
        self.running: dict[str, Running] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, service: Service) -> Running:
        log_path = self.log_dir / f"{service.name}.log"
        process = subprocess.Popen(
            [str(a) for a in service.argv],
            cwd=service.cwd,
            env=service.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            errors="replace",
            bufsize=1,
        )
        running = Running(service, process, log_path)
        self.running[service.name] = running
        running.pump = threading.Thread(target=self._pump, args=(running,), daemon=True)
        running.pump.start()
        return running

    def _pump(self, running: Running) -> None:
        """Copy a service's output to its log file (and the terminal); watch for its ready line."""
        pattern = re.compile(running.service.ready_line) if running.service.ready_line else None
        with open(running.log_path, "a", encoding="utf-8") as log:
            for line in running.process.stdout:
                log.write(line)
                log.flush()
                running.tail.append(line)
                if pattern and pattern.search(line):
                    running.saw_ready_line.set()
                if self.echo:
                    self.echo.write(f"{running.service.name:>8} | {line}")
                    self.echo.flush()

    def wait_ready(self, names: Sequence[str] | None = None) -> None:
        """Block until every named service is ready; raise ServiceFailed if one dies or times out."""
        pending = {n: self.running[n] for n in (names or list(self.running))}
        started = time.monotonic()
        while pending:
            for name, running in list(pending.items()):
                if running.process.poll() is not None:
                    raise ServiceFailed(
                        f"{name} exited with code {running.process.returncode}\n" + self.tail(name)
                    )
                if running.is_ready():
                    del pending[name]
                elif time.monotonic() - started > running.service.startup_timeout:
                    raise ServiceFailed(
                        f"{name} was not ready after {running.service.startup_timeout:.0f} s\n"
                        + self.tail(name)
                    )
            time.sleep(0.3)

    def exited(self) -> list[str]:
        return [n for n, r in self.running.items() if r.process.poll() is not None]

    def tail(self, name: str, lines: int = 60) -> str:
        running = self.running[name]
        if running.process.poll() is not None and running.pump:
            running.pump.join(timeout=2)  # an exited process's last words may still be in the pipe
        return "".join(list(running.tail)[-lines:])

    def stop(self, name: str) -> None:
        self.stop_all([name])

    def stop_all(self, names: Sequence[str] | None = None) -> None:
        """SIGTERM the services (each shuts its own children down), all at once, latest started first;
        after the grace time, SIGKILL whatever is left of their process groups."""
        stopping = [self.running.pop(n) for n in reversed(names or list(self.running)) if n in self.running]
        for running in stopping:
            if running.process.poll() is None:
                running.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for running in stopping:
            try:
                running.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(running.process.pid, signal.SIGKILL)  # start_new_session: pid is the group's id
            except ProcessLookupError:
                pass
            running.process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()


# --- Switchboard's services -------------------------------------------------------------------------


@dataclass(frozen=True)
class StackConfig:
    """Where the stack listens and what it runs on; env holds the portal's settings (DATABASE_URL, ...)."""

    model_path: Path
    data_dir: Path
    env: dict[str, str | None]  # None unsets an inherited variable (back to the embedded default)
    portal_port: int = 8000
    rasa_port: int = 5005
    actions_port: int = 5055
    host: str = "127.0.0.1"

    @property
    def portal_url(self) -> str:
        return f"http://{self.host}:{self.portal_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"


def python_path(*folders: Path) -> str:
    return os.pathsep.join(str(f) for f in folders)


def with_overrides(base: Mapping[str, str], overrides: Mapping[str, str | None]) -> dict[str, str]:
    env = {**base, **overrides}
    return {k: v for k, v in env.items() if v is not None}


def bot_base_env(base: Mapping[str, str]) -> dict[str, str]:
    """Every bot command (train, run, test): cwd bot/, with bot/ (custom components, channels, actions)
    and the repo root (`contracts`) importable; no telemetry; Rasa's dependencies' deprecation noise off."""
    return {
        **base,
        "PYTHONPATH": python_path(ROOT / "bot", ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        "PYTHONUNBUFFERED": "1",
    }


def bot_env(config: StackConfig) -> dict[str, str]:
    """Rasa and the action server of the stack: Rasa reaches the actions through endpoints.yml's variable."""
    return {
        **bot_base_env(with_overrides(os.environ, config.env)),
        "ACTION_SERVER_URL": f"{config.actions_url}/webhook",
    }


def portal_env(config: StackConfig) -> dict[str, str]:
    """The portal and Celery: portal/ and the repo root on the path, settings from the environment."""
    stack = {
        "RASA_URL": config.rasa_url,
        "SWITCHBOARD_PORTAL_URL": config.portal_url,
        "SWITCHBOARD_DATA_DIR": str(config.data_dir),
    }
    return {
        **with_overrides({**os.environ, **stack}, config.env),
        "PYTHONPATH": python_path(ROOT / "portal", ROOT),
        "PYTHONUNBUFFERED": "1",
    }


def rasa_service(config: StackConfig) -> Service:
    return Service(
        name="rasa",
        argv=[
            BOT_PYTHON_BIN / "rasa",
            "run",
            "--enable-api",
            "-m",
            config.model_path,
            "--port",
            str(config.rasa_port),
            "-i",
            config.host,
        ],
        cwd=ROOT / "bot",
        env=bot_env(config),
        # Rasa listens only once the model is loaded; /status confirms a model is in.
        probe=lambda: http_ok(f"{config.rasa_url}/status"),
        startup_timeout=300,
    )


def actions_service(config: StackConfig) -> Service:
    # rasa_sdk directly (what `rasa run actions` calls) skips importing Rasa and TensorFlow: 20 s saved.
    return Service(
        name="actions",
        argv=[
            BOT_PYTHON_BIN / "python",
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "--port",
            str(config.actions_port),
        ],
        cwd=ROOT / "bot",
        env=bot_env(config),
        probe=lambda: http_ok(f"{config.actions_url}/health"),
    )


def portal_service(config: StackConfig) -> Service:
    return Service(
        name="portal",
        argv=[
            PORTAL_PYTHON_BIN / "daphne",
            "-b",
            config.host,
            "-p",
            str(config.portal_port),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=portal_env(config),
        probe=lambda: http_ok(f"{config.portal_url}/"),
        startup_timeout=60,
    )


def worker_service(config: StackConfig, concurrency: int = 2) -> Service:
    return Service(
        name="worker",
        argv=[
            PORTAL_PYTHON_BIN / "celery",
            "-A",
            "config.celery_app",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--hostname",
            f"switchboard-{config.portal_port}@%h",
        ],
        cwd=ROOT,
        env=portal_env(config),
        ready_line=r"@\S+ ready\.",
        startup_timeout=60,
    )


def beat_service(config: StackConfig) -> Service:
    return Service(
        name="beat",
        # Its schedule file is the portal's setting CELERY_BEAT_SCHEDULE_FILENAME, under the data dir.
        argv=[PORTAL_PYTHON_BIN / "celery", "-A", "config.celery_app", "beat", "--loglevel=INFO"],
        cwd=ROOT,
        env=portal_env(config),
        ready_line=r"beat: Starting",
        startup_timeout=60,
    )


def stack_services(config: StackConfig) -> list[Service]:
    """The whole stack, in start order (it stops in reverse)."""
    return [
        rasa_service(config),
        actions_service(config),
        portal_service(config),
        worker_service(config),
        beat_service(config),
    ]


def manage(config: StackConfig, *args: str) -> None:
    """Run a Django management command with the stack's settings (migrate, create_demo_agent)."""
    subprocess.run(
        [str(PORTAL_PYTHON_BIN / "python"), str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=portal_env(config),
        check=True,
    )
