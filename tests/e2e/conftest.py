"""The end-to-end harness: the real stack, started once per test session.

It starts the Rasa server with the trained model, the action server, the portal as a daphne ASGI
process on a free port against its own fresh database (migrated first), a Celery worker and beat,
all through scripts/launcher.py (the same commands `./switchboard run` uses); waits until they are
healthy; and stops them at the end. The database is PostgreSQL when DATABASE_URL names one (CI),
otherwise a temporary SQLite file; the channel layer and the broker follow CHANNEL_LAYER_URL and
CELERY_BROKER_URL (each on a Redis database of its own), or the embedded defaults when unset.
When a test fails, the tail of every service's log is attached to its report.
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from scripts import launcher

from .harness import Stack

E2E_DIR = Path(__file__).resolve().parent
AGENT_USERNAME = "e2e-agent"
# Redis databases of the e2e stack's own, so leftovers of other suites never reach its worker.
E2E_CHANNEL_LAYER_DB = 5
E2E_BROKER_DB = 6


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test here `e2e`; run the ones that stop the bot after all the others."""
    ours = [item for item in items if E2E_DIR in item.path.parents]
    for item in ours:
        item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item in ours and "bot_stopped" in getattr(item, "fixturenames", ()))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    stack = _running_stack.get("stack")
    if report.failed and stack is not None and E2E_DIR in item.path.parents:
        report.sections.append(("e2e stack logs", stack.logs()))
    return report


_running_stack: dict[str, Stack] = {}


def redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="session")
def e2e_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for the stack: a new PostgreSQL database beside DATABASE_URL's, or a SQLite file."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.sqlite3'}"
        return
    import psycopg

    name = f"switchboard_e2e_{uuid.uuid4().hex[:10]}"
    admin_url = urlunsplit(urlsplit(base)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # name is ours: no user input reaches this
    yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stack_env(database_url: str) -> dict[str, str | None]:
    env = {"DATABASE_URL": database_url, "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
           "DJANGO_DEBUG": "false", "SWITCHBOARD_LOG_LEVEL": "INFO",
           # Fail open fast when the bot is stopped; the bot answers well within this when it is up.
           "RASA_TIMEOUT_SECONDS": "20"}
    for name, db in (("CHANNEL_LAYER_URL", E2E_CHANNEL_LAYER_DB), ("CELERY_BROKER_URL", E2E_BROKER_DB)):
        url = os.environ.get(name, "")
        if url.startswith("redis://"):
            env[name] = redis_url_with_db(url, db)
            flush_redis(env[name])
        else:
            env[name] = None  # the embedded default: in-memory layer + relay, filesystem broker
    return env


def model_path() -> Path:
    """The model `./switchboard test` passes in; else the cached one for the bot's current files."""
    if os.environ.get("SWITCHBOARD_MODEL"):
        return Path(os.environ["SWITCHBOARD_MODEL"])
    from scripts import bot_build

    return bot_build.ensure_model()


@pytest.fixture(scope="session")
def stack(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("e2e-data")
    config = launcher.StackConfig(
        model_path=model_path(), data_dir=data_dir, env=stack_env(e2e_database),
        portal_port=launcher.free_port(), rasa_port=launcher.free_port(), actions_port=launcher.free_port())
    supervisor = launcher.Supervisor(data_dir / "log")
    password = secrets.token_urlsafe(12)
    running = Stack(config, supervisor, AGENT_USERNAME, password)
    _running_stack["stack"] = running
    services = {s.name: s for s in launcher.stack_services(config)}
    try:
        # Rasa takes longest to start (imports, model load): start it first, migrate meanwhile.
        supervisor.start(services["rasa"])
        supervisor.start(services["actions"])
        launcher.manage(config, "migrate", "--noinput", "-v", "0")
        launcher.manage(config, "create_demo_agent", "--username", AGENT_USERNAME, "--password", password)
        for name in ("portal", "worker", "beat"):
            supervisor.start(services[name])
        supervisor.wait_ready()
        yield running
    except launcher.ServiceFailed as exc:
        pytest.fail(f"the e2e stack did not start: {exc}\n{running.logs()}")
    finally:
        supervisor.stop_all()
        _running_stack.pop("stack", None)


@pytest.fixture
def bot_stopped(stack: Stack) -> Stack:
    """The stack with its Rasa server stopped (tests using this run last: see the collection hook)."""
    stack.stop_bot()
    return stack
