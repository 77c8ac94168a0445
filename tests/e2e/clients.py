"""Real clients of the portal for the end-to-end tests: a customer and an agent over real WebSockets.

They speak docs/protocol.md as the widget and the agent UI do: HTTP to start a widget session or log
in, then one WebSocket each. Every frame received is kept, so a test can wait for the frame it needs
and later assert on what else did (or did not) arrive.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

Frame = dict[str, Any]
FRAME_TIMEOUT_SECONDS = 30.0


class Client:
    """A WebSocket with a log of every frame received."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.frames: list[Frame] = []
        self._seen = 0  # frames before this index have been matched by an earlier wait

    async def send(self, frame: Frame) -> None:
        await self.socket.send(json.dumps(frame))

    async def wait_for(
        self, matches: Callable[[Frame], bool], timeout: float = FRAME_TIMEOUT_SECONDS, what: str = "a frame"
    ) -> Frame:
        """The first frame not yet waited past that `matches`, reading more until `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for index in range(self._seen, len(self.frames)):
                if matches(self.frames[index]):
                    self._seen = index + 1
                    return self.frames[index]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no {what} within {timeout:.0f} s; frames received:\n"
                    + "\n".join(json.dumps(f)[:400] for f in self.frames[self._seen :])
                )
            try:
                raw = await asyncio.wait_for(self.socket.recv(), timeout=remaining)
            except TimeoutError:
                continue
            self.frames.append(json.loads(raw))

    async def drain(self, seconds: float) -> list[Frame]:
        """Everything that arrives within `seconds` (to show that nothing of a kind does)."""
        start = len(self.frames)
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                self.frames.append(json.loads(await asyncio.wait_for(self.socket.recv(), timeout=remaining)))
            except TimeoutError:
                break
        return self.frames[start:]

    async def close(self) -> None:
        await self.socket.close()


def is_type(kind: str, **fields: Any) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items())


def is_message(sender: str, text_pattern: str | None = None) -> Callable[[Frame], bool]:
    """A `message.new` from `sender` whose text matches `text_pattern` (a case-insensitive regex)."""

    def matches(frame: Frame) -> bool:
        message = frame.get("message") or {}
        return (
            frame.get("type") == "message.new"
            and message.get("sender") == sender
            and (
                text_pattern is None
                or re.search(text_pattern, message.get("text", ""), re.IGNORECASE) is not None
            )
        )

    return matches


class Customer(Client):
    conversation_id: str

    customer: dict[str, Any]  # the session's {"verified", "id"}
    token: str  # the session's bearer token

    @classmethod
    async def start(cls, http_url: str, ws_url: str, customer_assertion: str | None = None) -> Customer:
        """Start a widget session over HTTP (for the customer the bank's assertion names, if one is given), then
        open the customer socket and send its token in the first frame."""
        body = {"customer_assertion": customer_assertion} if customer_assertion else {}
        async with httpx.AsyncClient(base_url=http_url) as http:
            response = await http.post("/api/widget/sessions", json=body)
            response.raise_for_status()
            session = response.json()
        socket = await connect(f"{ws_url}/ws/customer/", origin=http_url)
        await socket.send(json.dumps({"type": "auth", "token": session["token"]}))
        customer = cls(socket)
        customer.conversation_id = session["conversation_id"]
        customer.customer, customer.token = session["customer"], session["token"]
        await customer.wait_for(is_type("conversation.snapshot"), what="conversation.snapshot")
        return customer

    async def say(self, text: str) -> Frame:
        """Send a message and wait until the portal has stored it (its ack); returns the stored message."""
        client_id = str(uuid.uuid4())
        await self.send({"type": "message.send", "client_id": client_id, "text": text})
        ack = await self.wait_for(is_type("message.ack", client_id=client_id), what=f"ack of {text!r}")
        return ack["message"]


class Agent(Client):
    @classmethod
    async def log_in(cls, http_url: str, ws_url: str, username: str, password: str) -> Agent:
        """Log in through Django's login form (CSRF and all), then open the agent socket with the session."""
        async with httpx.AsyncClient(base_url=http_url) as http:
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
            assert response.status_code == 302, f"login refused ({response.status_code})"
            cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        socket = await connect(f"{ws_url}/ws/agent/", origin=http_url, additional_headers={"Cookie": cookie})
        agent = cls(socket)
        await agent.wait_for(is_type("inbox.snapshot"), what="inbox.snapshot")
        return agent

    async def act(self, kind: str, conversation_id: str, **fields: Any) -> None:
        await self.send({"type": kind, "conversation_id": conversation_id, **fields})

    async def say(self, conversation_id: str, text: str) -> Frame:
        client_id = str(uuid.uuid4())
        await self.act("message.send", conversation_id, client_id=client_id, text=text)
        ack = await self.wait_for(is_type("message.ack", client_id=client_id), what=f"ack of {text!r}")
        return ack["message"]
