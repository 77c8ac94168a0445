"""The end-to-end harness: the real stack, started once per test session.

It starts the stack's own Redis, the Rasa server with the trained model, the action server, the
portal as 2 ASGI processes (uvicorn workers) on a free port against its own fresh database (migrated
first), a Celery worker and beat, all through scripts/launcher.py (the same commands `./switchboard run` uses); waits
until they are healthy; and stops them at the end. The database is PostgreSQL when DATABASE_URL names
one (CI), otherwise a temporary SQLite file. When CHANNEL_LAYER_URL or CELERY_BROKER_URL names Redis
(CI), the channel layer and the broker are that Redis, under an instance name of the stack's own
(SWITCHBOARD_INSTANCE: its Celery queue and channel-layer prefix); else the stack's own Redis. The bot streams
its readings (NLU records) to the stack's own Redis in both modes, where the stack's beat ingests them.
When a test fails, the tail of every service's log is attached to its report.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.async_api import Browser, async_playwright

from scripts import launcher

from .harness import Stack

E2E_DIR = Path(__file__).resolve().parent
AGENT_USERNAME = "e2e-agent"
REDIS_SETTINGS = ("CHANNEL_LAYER_URL", "CELERY_BROKER_URL", "CACHE_URL")
PORTAL_WORKERS = 2  # in both modes: a customer and an agent on different processes must still talk live
_running_stack: dict[str, Stack] = {}  # for the report hook: whose logs to attach to a failure


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
    """The portal's settings: its own database; the run's Redis channel layer and broker when it names them
    (under a name of this stack's own, so another run on the same Redis never takes its tasks or events),
    else the embedded defaults (the stack's own Redis)."""
    env: dict[str, str | None] = {
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_DEBUG": "false",
        "SWITCHBOARD_LOG_LEVEL": "INFO",
        "SWITCHBOARD_INSTANCE": f"e2e-{uuid.uuid4().hex[:10]}",
        # A loaded CI machine may slow the bot down: only a stopped bot (refused at once) fails open here.
        "RASA_TIMEOUT_SECONDS": "20",
        # Every e2e customer comes from 127.0.0.1, so the per-address flood limits would count the whole suite as
        # one flood (the 21st session of a run got 429). The limits are tested on the real cache in the portal
        # suite; here they sit out of reach, as in the load benchmark. The sign-in limits stay as they are.
        **{
            f"SWITCHBOARD_LIMIT_{name}": "100000/m"
            for name in ("SESSIONS_PER_ADDRESS", "MESSAGES_PER_ADDRESS", "HANDOFFS_PER_ADDRESS")
        },
    }
    for name in REDIS_SETTINGS:
        env[name] = os.environ.get(name) if os.environ.get(name, "").startswith("redis://") else None
    # The bot's NLU stream on the stack's own Redis in both modes, on a key of the stack's own.
    env["NLU_STREAM_URL"] = None
    env["NLU_STREAM_KEY"] = f"{env['SWITCHBOARD_INSTANCE']}:nlu"
    return env


def model_path() -> Path:
    """The model `./switchboard test` passes in; else the cached one for the bot's current files."""
    if os.environ.get("SWITCHBOARD_MODEL"):
        return Path(os.environ["SWITCHBOARD_MODEL"])
    from scripts import bot_build

    return bot_build.ensure_model()


@pytest.fixture(scope="session")
def stack(e2e_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole stack, healthy, on free ports, for the session; an agent to log in as."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    config = launcher.StackConfig(
        model_path=model_path(),
        data_dir=data_dir,
        env=stack_env(e2e_database),
        portal_port=launcher.free_port(),
        rasa_port=launcher.free_port(),
        actions_port=launcher.free_port(),
        redis_port=launcher.free_port(),
        portal_workers=PORTAL_WORKERS,
    )
    running = Stack(config, launcher.Supervisor(data_dir / "log"), AGENT_USERNAME, secrets.token_urlsafe(12))
    _running_stack["stack"] = running
    supervisor, services = running.supervisor, {s.name: s for s in launcher.stack_services(config)}
    try:
        # Rasa takes longest to start (imports, model load): start it first, migrate meanwhile.
        supervisor.start(services["redis"])
        supervisor.start(services["rasa"])
        supervisor.start(services["actions"])
        launcher.manage(config, "migrate", "--noinput", "-v", "0")
        # As `./switchboard run` does: the model Rasa is starting on becomes the baseline version in production.
        assert launcher.with_deployed_model(config).model_path.resolve() == config.model_path.resolve()
        # --password=...: a generated password may start with "-", which argparse would read as an option.
        agent = [f"--username={AGENT_USERNAME}", f"--password={running.agent_password}"]
        launcher.manage(config, "create_demo_agent", *agent)
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


CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, and this machine's network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, driven by Playwright."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where browser tests keep their screenshots, as test artifacts: <data dir>/test-results/screenshots."""
    folder = Path(os.environ.get("SWITCHBOARD_DATA_DIR") or launcher.ROOT / "var") / "test-results" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
