"""The browser-test harness: the portal as real uvicorn processes, and Debian's chromium driven by Playwright.

The portal runs as `./switchboard run` starts it (scripts/launcher.py), on the embedded defaults (the stack's own
Redis as channel layer and broker) and a SQLite file of its own, with no Rasa server and no Celery worker: these
tests are about what people see. A test puts a conversation into the queue the way the portal does (transitions),
from a Django process of its own that publishes its events on that Redis, as a worker does; so what the browsers
see arrives live over the real WebSockets.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from scripts import launcher

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
AGENT_PASSWORD = secrets.token_urlsafe(12)
# Settings the machine's environment may hold that would take the portal off its embedded defaults (None unsets).
NOT_INHERITED = {"CHANNEL_LAYER_URL": None, "CELERY_BROKER_URL": None, "CELERY_TASK_ALWAYS_EAGER": None}
SCREENSHOTS = Path(os.environ.get("SWITCHBOARD_UI_SCREENSHOTS", "")) if os.environ.get("SWITCHBOARD_UI_SCREENSHOTS") else None

# A context packet like the one the fraud story of issue 2 produces (reason, intents, entities, slots).
FRAUD_TEXT = "there's a payment of £250 on my card ending 4242 I never made, I want to talk to someone"
FRAUD_TRACKER = {
    "slots": {"card_last_four": "4242", "amount": "£250", "requested_slot": None},
    "events": [
        {"event": "user", "text": FRAUD_TEXT, "parse_data": {
            "intent": {"name": "report_fraud", "confidence": 0.9312},
            "intent_ranking": [
                {"name": "report_fraud", "confidence": 0.9312},
                {"name": "dispute_transaction", "confidence": 0.0411},
                {"name": "request_human", "confidence": 0.0207},
            ],
            "entities": [
                {"entity": "amount", "value": "£250", "start": 20, "end": 24, "extractor": "EntityRuler"},
                {"entity": "card_last_four", "value": "4242", "start": 45, "end": 49, "extractor": "EntityRuler"},
            ],
        }},
    ],
}


@dataclass
class Portal:
    """The running portal, and a way to act on its database as the portal's own code does."""

    config: launcher.StackConfig
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.config.portal_url

    def django(self, code: str) -> Any:
        """Run Python with the portal's settings and database; return the JSON its last printed line holds.

        Events go out on the stack's Redis (as from a worker), so the browsers hear of the change live."""
        script = "import json, django; django.setup()\n" + textwrap.dedent(code)
        done = subprocess.run(
            [str(launcher.PORTAL_PYTHON_BIN / "python"), "-c", script], cwd=launcher.ROOT,
            env=self.env | {"DJANGO_SETTINGS_MODULE": "config.settings"}, capture_output=True, text=True, timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"django snippet failed:\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def create_agent(self, username: str, display_name: str, role: str = "agent") -> None:
        self.django(f"""
            from agents.roles import Role
            from agents.services import user_set_up
            user, _ = user_set_up(username={username!r}, password={AGENT_PASSWORD!r}, role=Role({role!r}),
                                  display_name={display_name!r})
            print(json.dumps(user.pk))
        """)

    def queue_conversation(self, conversation_id: str, *, reason: str = "sensitive_topic", priority: str = "high",
                           topic: str = "report_fraud", note: str = "card blocked: no") -> None:
        """bot → queued with a context packet built from a Rasa-like tracker, as the bot gateway does."""
        self.django(f"""
            import uuid
            from django.utils import timezone
            from contracts.handoff import HandoffReason, HandoffRequest, Priority
            from conversations import transitions
            from conversations.models import Message
            from conversations.context import build_context_packet
            conversation_id = uuid.UUID({conversation_id!r})
            request = HandoffRequest(reason=HandoffReason({reason!r}), priority=Priority({priority!r}),
                                     topic={topic!r}, note={note!r})
            transcript = [(m.sender, m.text, m.created_at)
                          for m in Message.objects.filter(conversation_id=conversation_id).order_by("created_at", "id")]
            packet = build_context_packet(conversation_id=conversation_id, request=request, transcript=transcript,
                                          tracker={FRAUD_TRACKER!r}, queued_at=timezone.now())
            transitions.conversation_queue(conversation_id=conversation_id, request=request, context=packet)
            print(json.dumps(str(conversation_id)))
        """)

    def start_conversation(self) -> str:
        """A conversation with the bot, with one customer message in it (no widget involved)."""
        return self.django("""
            import uuid
            from conversations import services
            conversation = services.conversation_start()
            services.message_post_customer(conversation_id=conversation.pk, client_id=str(uuid.uuid4()),
                                           text="I need to speak to someone about my account")
            print(json.dumps(str(conversation.pk)))
        """)


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir = tmp_path_factory.mktemp("ui-portal")
    config = launcher.StackConfig(
        model_path=data_dir / "no-model",  # no Rasa here; RASA_URL points at a port nobody listens on
        data_dir=data_dir,
        env={"DJANGO_SECRET_KEY": secrets.token_urlsafe(40), "DJANGO_DEBUG": "false",
             "DATABASE_URL": f"sqlite:///{data_dir / 'ui.sqlite3'}", **NOT_INHERITED},
        portal_port=launcher.free_port(), rasa_port=launcher.free_port(), redis_port=launcher.free_port(),
    )
    env = launcher.portal_env(config)
    migrated = subprocess.run([str(launcher.PORTAL_PYTHON_BIN / "python"), str(launcher.ROOT / "manage.py"),
                               "migrate", "--noinput", "-v", "0"], cwd=launcher.ROOT, env=env,
                              capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    supervisor = launcher.Supervisor(data_dir / "log")
    running = Portal(config, env)
    try:
        supervisor.start(launcher.redis_service(config))
        supervisor.start(launcher.portal_service(config))
        supervisor.wait_ready()
        running.create_agent("alex", "Alex")
        running.create_agent("sam", "Sam")
        running.create_agent("sue", "Sue", role="supervisor")
        yield running
    except launcher.ServiceFailed as exc:
        pytest.fail(f"the portal did not start: {exc}")
    finally:
        supervisor.stop_all()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator:
    """Open browser contexts (each its own cookies and localStorage: a customer, an agent); closed after."""
    contexts: list[BrowserContext] = []

    def open_context(**options: Any) -> BrowserContext:
        context = browser.new_context(**({"viewport": {"width": 1366, "height": 860}} | options))
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def customer(new_context, portal: Portal) -> Page:
    """The demo bank page with the chat panel open and connected."""
    page = new_context().new_page()
    page.goto(portal.url + "/")
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-panel")).to_have_attribute("data-connection", "online")
    return page


def log_in(page: Page, portal: Portal, username: str) -> Page:
    page.goto(portal.url + "/agents/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(AGENT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "online")
    return page


@pytest.fixture
def agent(new_context, portal: Portal) -> Page:
    """Alex, logged in to the agent inbox, its socket live."""
    return log_in(new_context().new_page(), portal, "alex")


def conversation_id_of(customer_page: Page) -> str:
    """The conversation the widget holds (its session in localStorage)."""
    return customer_page.evaluate("JSON.parse(localStorage.getItem('switchboard.widget.session')).conversation_id")


def screenshot(page: Page, name: str) -> None:
    """Keep a screenshot when SWITCHBOARD_UI_SCREENSHOTS names a folder (for looking at the UI, not for asserts)."""
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
