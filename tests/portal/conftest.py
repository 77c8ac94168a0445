"""Fixtures of the portal's tests: a stand-in Rasa server over real HTTP, agents, logged-in socket headers,
eager Celery, and a check of every frame any consumer sends against its socket's frames (conversations/frames.py).

The tests run on the defaults (SQLite, in-memory channel layer) and on PostgreSQL + Redis
(DATABASE_URL=postgres://… CHANNEL_LAYER_URL=redis://…).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from collections.abc import Callable, Iterator

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.testing import WebsocketCommunicator
from channels.testing.application import ApplicationCommunicator as ChannelsApplicationCommunicator
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from portal_support import make_agent

# Hypothesis (tests/portal/test_fuzz.py): few examples, derived from each test's name rather than drawn at
# random, and no example database (none written into the repo), so the suite stays fast and every run, in CI
# too, tries the same inputs. `HYPOTHESIS_PROFILE=fuzz-deep` tries many more, at random, for a search by hand.
# The fuzz's fixtures (an agent, the stand-in Rasa) are set up once per test and serve all its examples.
_ACROSS_EXAMPLES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
hypothesis_settings.register_profile(
    "fuzz", max_examples=20, derandomize=True, database=None, deadline=None, suppress_health_check=_ACROSS_EXAMPLES
)
hypothesis_settings.register_profile(
    "fuzz-deep", max_examples=500, database=None, deadline=None, suppress_health_check=_ACROSS_EXAMPLES
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "fuzz")

# How long a socket test waits for a frame before failing. The libraries' 1 s default is a speed assertion in
# disguise: on a loaded 2-core CI machine a cold process (opening its database pool) can take longer, and a test
# about what arrives must not fail on how fast (speed is the benchmarks' to measure).
FRAME_TIMEOUT_SECONDS = 5.0
for _receive in (
    ApplicationCommunicator.receive_output,
    ChannelsApplicationCommunicator.receive_output,  # what WebsocketCommunicator inherits: its own 1 s default
    WebsocketCommunicator.connect,
    WebsocketCommunicator.receive_from,
    WebsocketCommunicator.receive_json_from,
):
    _receive.__defaults__ = (FRAME_TIMEOUT_SECONDS,)


# --- a Rasa server stand-in ---------------------------------------------------------------------------------


@dataclass
class FakeRasa:
    """Speaks the Rasa HTTP calls the bot gateway makes (a turn, the tracker, restart, the erasure route, and the
    model: `PUT /model` swaps `model_file`, `/status` tells it). `answer(text)` gives the REST channel's reply list;
    `status` forces an HTTP status; `delay` makes it slow (so turns that overlap show); every request is recorded.
    Like Rasa it keeps each turn in the sender's tracker (the user event with the request's metadata, then the
    bot's messages), unless `tracker` is set. `stall_next` seconds: the next turn is run and kept, but answered
    only after that long (a read timeout for the caller). `most_in_flight`: the most turns that ran at once, per
    sender and ("") in all."""

    url: str = ""
    answer: Callable[[str], list[dict[str, Any]]] = lambda text: [
        {"recipient_id": "x", "text": f"echo: {text}"}
    ]
    tracker: dict[str, Any] | None = None
    status: int = 200
    raw_body: bytes | None = None
    delay: float = 0.0
    stall_next: float = 0.0
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)
    most_in_flight: dict[str, int] = field(default_factory=dict)  # per sender, and "" for all senders
    lock: threading.Lock = field(default_factory=threading.Lock)
    model_file: str = "model-base.tar.gz"

    def respond(self, method: str, path: str, body: Any) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append((method, path, body))
        if not path.startswith("/webhooks/rest/webhook"):
            time.sleep(self.delay)
        if self.status != 200:
            return self.status, b'{"error": "boom"}'
        if self.raw_body is not None:
            return 200, self.raw_body
        if method == "DELETE" and path.startswith("/webhooks/erasure/conversations/"):
            with self.lock:  # like the bot's erasure route: the tracker goes, and 204 whether it was there or not
                self.events.pop(path.split("?")[0].split("/")[4], None)
            return 204, b""
        if path.startswith("/webhooks/rest/webhook"):
            return 200, json.dumps(self._turn(body)).encode()
        if method == "PUT" and path.startswith("/model"):
            self.model_file = body["model_file"].rsplit("/", 1)[-1]
            return 204, b""
        if path.startswith("/status"):
            return 200, json.dumps({"model_file": self.model_file, "model_id": "fake"}).encode()
        if path.endswith("/tracker/events"):
            return 200, json.dumps({"sender_id": path.split("/")[2], "events": []}).encode()
        if path.endswith("/tracker"):
            sender = path.split("/")[2]
            with self.lock:
                tracker = self.tracker or {"sender_id": sender, "slots": {}, "events": self.events.get(sender, [])}
                return 200, json.dumps(tracker).encode()
        return 404, b"{}"

    def _turn(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        sender = body["sender"]
        with self.lock:
            for key in (sender, ""):
                self.in_flight[key] = self.in_flight.get(key, 0) + 1
                self.most_in_flight[key] = max(self.most_in_flight.get(key, 0), self.in_flight[key])
            stall, self.stall_next = self.stall_next, 0.0
        try:
            time.sleep(self.delay)
            replies = self.answer(body["message"])
            with self.lock:
                self.events.setdefault(sender, []).extend(
                    [{"event": "user", "text": body["message"], "metadata": body.get("metadata") or {}}]
                    + [
                        {
                            "event": "bot",
                            "text": r.get("text"),
                            "data": {"buttons": r.get("buttons"), "custom": r.get("custom")},
                        }
                        for r in replies
                    ]
                )
        finally:
            with self.lock:
                for key in (sender, ""):
                    self.in_flight[key] -= 1
        time.sleep(stall)
        return replies

    def erased(self) -> list[str]:
        """The conversations whose tracker the portal asked to erase, in order."""
        return [
            path.split("?")[0].split("/")[4]
            for method, path, _ in self.requests
            if method == "DELETE" and path.startswith("/webhooks/erasure/conversations/")
        ]

    def bot_inputs(self, sender: str | None = None) -> list[str]:
        return [
            body["message"]
            for method, path, body in self.requests
            if path.startswith("/webhooks/rest/webhook") and sender in (None, body["sender"])
        ]


@pytest.fixture
def fake_rasa(settings: Any) -> Iterator[FakeRasa]:
    rasa = FakeRasa()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, payload = rasa.respond(method, self.path, body)
            self.send_response(status)
            if payload:
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def do_DELETE(self) -> None:
            self._answer("DELETE")

        def do_PUT(self) -> None:
            self._answer("PUT")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rasa.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.RASA_URL = rasa.url
    settings.RASA_TIMEOUT_SECONDS = 2.0
    yield rasa
    server.shutdown()
    server.server_close()


@pytest.fixture
def rasa_down(settings: Any) -> None:
    """Nothing listens where the portal looks for the bot (a port just freed)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.RASA_URL = f"http://127.0.0.1:{port}"
    settings.BOT_DELIVERY_ATTEMPTS = 1


# --- Celery, frames -----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """Each test gets channel layers of its own. A Redis layer (CHANNEL_LAYER_URL, as in CI) binds its locks to
    the event loop of the test that first used it; a socket closed mid-receive can leave one held when that
    test's loop ends, and the next test's loop would find it."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def eager_celery() -> Iterator[None]:
    """Tasks queued on commit run at once, in the process that queued them (the real worker has its own test)."""
    from config.celery_app import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def check_every_frame(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every frame a consumer sends is checked against its socket's declared shapes; a mismatch breaks the test."""
    from conversations import frames
    from conversations.consumers import FrameSocket
    from handoff.consumers import AgentConsumer
    from tuning.consumers import ManagerConsumer
    from tuning.frames import MANAGER_SERVER_FRAMES

    sent: list[dict[str, Any]] = []
    original = FrameSocket.send_frame

    async def checked(self: Any, frame: Any) -> None:
        shapes: Any = frames.CUSTOMER_SERVER_FRAMES
        if isinstance(self, AgentConsumer):
            shapes = frames.AGENT_SERVER_FRAMES
        elif isinstance(self, ManagerConsumer):
            shapes = MANAGER_SERVER_FRAMES
        wire = frames.frame_json(frame)
        shapes.validate_json(wire)  # what goes on the wire is a frame this socket may send
        sent.append(json.loads(wire))
        await original(self, frame)

    monkeypatch.setattr(FrameSocket, "send_frame", checked)
    return sent


@pytest.fixture
def no_delivery_task(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Customer messages are stored but not sent to the bot (the ids of the conversations they would go to)."""
    from conversations import services

    queued: list[Any] = []
    monkeypatch.setattr(services, "_queue_delivery_to_bot", queued.append)
    return queued


@pytest.fixture(autouse=True)
def fresh_flood_counters(settings: Any) -> None:
    """Each test counts the flood limits from zero, also on a shared Redis cache (CACHE_URL, as in CI)."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl:{uuid.uuid4().hex}:"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- people -------------------------------------------------------------------------------------------------


@pytest.fixture
def alex(db: None) -> Any:
    return make_agent("alex", "Alex")


@pytest.fixture
def sam(db: None) -> Any:
    return make_agent("sam", "Sam")


@pytest.fixture
def sue(db: None) -> Any:
    """A supervisor."""
    return make_agent("sue", "Sue", role="supervisor")


@pytest.fixture
def mona(db: None) -> Any:
    """A manager."""
    return make_agent("mona", "Mona", role="manager")


@pytest.fixture
def ada(db: None) -> Any:
    """An admin."""
    return make_agent("ada", "Ada", role="admin")
