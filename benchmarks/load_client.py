"""An asyncio client of the portal, written from docs/protocol.md, for the load benchmark (benchmarks/load.py).

A customer starts a widget session over HTTP and opens the customer socket, its token in the first frame; an
agent logs in through Django's login form (CSRF and all) and opens the agent socket with the session cookie.
Each socket has one reader task that stamps every frame with its arrival time (time.perf_counter) the moment
it is read and records only what the benchmark counts, so hundreds of sockets can live in one process.
`RasaSender` is the raw-Rasa twin of a customer: the same messages straight to Rasa's REST webhook.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter, defaultdict
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]
OPEN_TIMEOUT_SECONDS = 30.0
# No keepalive pings of our own, as a browser sends none (the portal's server pings us, and we answer at once).
# Ours are answered only once the server reads them, and uvicorn stops reading a socket whose consumer has 32
# frames waiting (an agent's socket in a burst, each frame a database write): so on a busy agent socket they
# time out and the client closes it itself ("1011 keepalive ping timeout"). The server closes such a socket too
# when our pong waits 20 s behind those frames: that one is the portal's to fix, by keeping up.
PING_INTERVAL = None


class ProtocolError(RuntimeError):
    """The portal answered something the protocol does not allow at that point."""


class Socket:
    """One WebSocket: a reader task hands each frame, with its arrival time, to `on_frame`."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.errors: list[Frame] = []  # `error` frames, kept to be reported
        # conversation_id → seq → times read live (message.new, message.ack); and the last seq of a snapshot
        self.seqs: dict[str, Counter[int]] = defaultdict(Counter)
        self.snapshot_seq: dict[str, int] = {}
        self._send_lock = asyncio.Lock()
        self._waiters: list[tuple[Any, asyncio.Future]] = []
        self._reader = asyncio.create_task(self._read())

    async def send(self, frame: Frame) -> None:
        """Send, unless the portal closed the socket: what it would have carried then counts as lost, and the
        close is reported (`closed_by_portal`), rather than ending the run."""
        async with self._send_lock:
            try:
                await self.connection.send(json.dumps(frame))
            except ConnectionClosed:
                pass

    @property
    def closed_by_portal(self) -> str | None:
        """The portal's close code and reason, once it has closed this socket (e.g. "1011 keepalive ping
        timeout": it stopped reading a socket whose frames it was behind on, so it missed our pong)."""
        close = self.connection.protocol.close_rcvd
        return f"{close.code} {close.reason}" if close is not None and self._reader.done() else None

    def wait_for(self, matches: Any) -> asyncio.Future:
        """A future of the next frame that `matches` (a predicate), resolved as it is read."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((matches, future))
        return future

    async def _read(self) -> None:
        try:
            async for raw in self.connection:
                now = time.perf_counter()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "error":
                    self.errors.append(frame)
                elif kind in ("message.new", "message.ack"):
                    self.seqs[frame["conversation_id"]][frame["message"]["seq"]] += 1
                elif kind == "conversation.snapshot" and frame["messages"]:
                    self.snapshot_seq[frame["conversation"]["id"]] = frame["messages"][-1]["seq"]
                self.on_frame(frame, now)
                if self._waiters:
                    self._resolve(frame)
        except ConnectionClosed:
            pass
        finally:
            for _, future in self._waiters:
                if not future.done():
                    future.set_exception(ProtocolError("socket closed"))

    def last_seq(self, conversation_id: str) -> int:
        """The highest seq this socket has read of the conversation (live or in a snapshot)."""
        return max([self.snapshot_seq.get(conversation_id, 0), *self.seqs.get(conversation_id, ())])

    def _resolve(self, frame: Frame) -> None:
        still = []
        for matches, future in self._waiters:
            if future.done():
                continue
            if matches(frame):
                future.set_result(frame)
            else:
                still.append((matches, future))
        self._waiters = still

    def on_frame(self, frame: Frame, now: float) -> None:  # overridden
        pass

    async def close(self) -> None:
        await self.connection.close()
        self._reader.cancel()


def is_type(kind: str, **fields: Any):
    return lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items())


class Turn:
    """One customer message to the bot: done at the first bot message stored after it."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.message_id: int | None = None  # the stored customer message, from its ack
        self.early: list[tuple[int, float, str]] = []  # (id, time, sender) read before the ack
        self.done = asyncio.get_running_loop().create_future()  # → (time, outcome)

    def offer(self, message_id: int, now: float, sender: str) -> None:
        if self.message_id is None:
            self.early.append((message_id, now, sender))
        elif message_id > self.message_id and not self.done.done():
            # A system message instead of the bot's: the portal failed open (the bot was down or too slow).
            self.done.set_result((now, "ok" if sender == "bot" else "failed_open"))

    def acked(self, message_id: int) -> None:
        self.message_id = message_id
        for early in self.early:
            self.offer(*early)


class Customer(Socket):
    """The widget: one conversation. Records bot turns, status changes and the agent's messages it receives."""

    conversation_id: str

    def __init__(self, connection: ClientConnection, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        self.turn: Turn | None = None
        self.status_at: dict[str, float] = {}  # first time each conversation.status was read
        self.agent_messages: dict[str, list[float]] = defaultdict(list)  # client_id → arrival times
        super().__init__(connection)

    @classmethod
    async def start(cls, http: httpx.AsyncClient, ws_url: str) -> Customer:
        response = await http.post("/api/widget/sessions")
        if response.status_code != 201:
            raise ProtocolError(f"POST /api/widget/sessions answered {response.status_code}")
        session = response.json()
        connection = await connect(
            f"{ws_url}/ws/customer/",
            origin=str(http.base_url).rstrip("/"),
            open_timeout=OPEN_TIMEOUT_SECONDS,
            ping_interval=PING_INTERVAL,
        )
        await connection.send(json.dumps({"type": "auth", "token": session["token"]}))  # first, as the widget
        customer = cls(connection, session["conversation_id"])
        await asyncio.wait_for(customer.wait_for(is_type("conversation.snapshot")), OPEN_TIMEOUT_SECONDS)
        return customer

    def on_frame(self, frame: Frame, now: float) -> None:
        kind = frame.get("type")
        if kind == "message.new":
            message = frame["message"]
            if message["sender"] == "agent" and message.get("client_id"):
                self.agent_messages[message["client_id"]].append(now)
            elif self.turn is not None and message["sender"] in ("bot", "system"):
                self.turn.offer(message["id"], now, message["sender"])
        elif kind == "message.ack" and self.turn is not None and frame["client_id"] == self.turn.client_id:
            self.turn.acked(frame["message"]["id"])
        elif kind == "conversation.status":
            self.status_at.setdefault(frame["status"], now)
            if frame["status"] == "queued" and self.turn is not None and not self.turn.done.done():
                self.turn.done.set_result((now, "handoff"))

    async def say(self, text: str, client_id: str | None = None) -> None:
        await self.send({"type": "message.send", "client_id": client_id or str(uuid.uuid4()), "text": text})

    async def ask_bot(self, text: str, timeout: float) -> tuple[float, str]:
        """Send `text` and wait for the bot's first message after it: (its arrival time, outcome), where the
        outcome is ok, handoff (the bot or the portal queued it for a person), failed_open or timeout."""
        self.turn = Turn(str(uuid.uuid4()))
        try:
            await self.say(text, self.turn.client_id)
            return await asyncio.wait_for(asyncio.shield(self.turn.done), timeout)
        except TimeoutError:
            return time.perf_counter(), "timeout"
        finally:
            self.turn = None


class Agent(Socket):
    """The agent UI: records when each conversation first showed up queued in its inbox, claims, and the
    customers' messages it receives."""

    def __init__(self, connection: ClientConnection) -> None:
        self.queued_at: dict[str, float] = {}  # conversation_id → first handoff.updated (queued) read
        self.queued_count: dict[str, int] = defaultdict(int)
        self.customer_messages: dict[str, list[float]] = defaultdict(list)  # client_id → arrival times
        super().__init__(connection)

    @classmethod
    async def log_in(cls, http_url: str, ws_url: str, username: str, password: str) -> Agent:
        async with httpx.AsyncClient(base_url=http_url, timeout=30) as http:
            await http.get("/accounts/login/")
            response = await http.post(
                "/accounts/login/",
                data={
                    "username": username,
                    "password": password,
                    "csrfmiddlewaretoken": http.cookies["csrftoken"],
                },
                headers={"Referer": f"{http_url}/accounts/login/"},
            )
            if response.status_code != 302:
                raise ProtocolError(f"login of {username} refused ({response.status_code})")
            cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        connection = await connect(
            f"{ws_url}/ws/agent/",
            origin=http_url,
            additional_headers={"Cookie": cookie},
            open_timeout=OPEN_TIMEOUT_SECONDS,
            ping_interval=PING_INTERVAL,
        )
        agent = cls(connection)
        await asyncio.wait_for(agent.wait_for(is_type("inbox.snapshot")), OPEN_TIMEOUT_SECONDS)
        return agent

    def on_frame(self, frame: Frame, now: float) -> None:
        kind = frame.get("type")
        if kind == "handoff.updated":
            handoff = frame["handoff"]
            if handoff["status"] == "queued":
                self.queued_at.setdefault(handoff["conversation_id"], now)
                self.queued_count[handoff["conversation_id"]] += 1
        elif kind == "message.new":
            message = frame["message"]
            if message["sender"] == "customer" and message.get("client_id"):
                self.customer_messages[message["client_id"]].append(now)

    async def claim(self, conversation_id: str, timeout: float) -> bool:
        """Claim a queued conversation; True once this socket got its conversation.snapshot."""
        snapshot = self.wait_for(
            lambda f: (
                f.get("type") == "conversation.snapshot"
                and f.get("conversation", {}).get("id") == conversation_id
            )
        )
        refused = self.wait_for(is_type("error", code="not_allowed"))
        await self.send({"type": "handoff.claim", "conversation_id": conversation_id})
        done, _ = await asyncio.wait(
            {snapshot, refused}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for future in (snapshot, refused):
            if not future.done():
                future.cancel()
        return snapshot in done and not snapshot.cancelled()

    async def write(self, conversation_id: str, client_id: str, text: str) -> None:
        await self.send(
            {"type": "message.send", "conversation_id": conversation_id, "client_id": client_id, "text": text}
        )


class RasaSender:
    """The raw-Rasa twin of a customer: POST {rasa}/webhooks/rest/webhook {"sender", "message"}."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.sender = str(uuid.uuid4())

    def renew(self) -> None:
        self.sender = str(uuid.uuid4())  # a fresh conversation, as a new widget session is

    async def ask_bot(self, text: str, timeout: float) -> tuple[float, str]:
        try:
            response = await self.http.post(
                "/webhooks/rest/webhook", json={"sender": self.sender, "message": text}, timeout=timeout
            )
        except httpx.TimeoutException:
            return time.perf_counter(), "timeout"
        now = time.perf_counter()
        if response.status_code != 200:
            return now, f"http_{response.status_code}"
        return now, outcome_of(response.json())


def outcome_of(bot_messages: list[dict[str, Any]]) -> str:
    """ok for a plain answer; handoff when the bot asked for a person (docs/handoff.md); buttons when it asked
    "did you mean…?" (it was unsure); empty when it said nothing."""
    if any("handoff" in (m.get("custom") or {}) for m in bot_messages):
        return "handoff"
    if any(m.get("buttons") for m in bot_messages):
        return "buttons"
    return "ok" if bot_messages else "empty"
