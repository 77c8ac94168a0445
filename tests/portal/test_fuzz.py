"""A property-based fuzz (Hypothesis) of both sockets' frames and of the session endpoint, against the real
consumers (WebsocketCommunicator over the ASGI application, the configured channel layer: Redis in CI) and the
real view.

For every frame: no server error and no crash; a frame that is bad by construction (binary, not JSON, not an
object, no string type, an unknown type, a field of the wrong kind, too large) gets exactly one `error` frame of
the documented code and stores nothing; any other frame gets documented frames only, and stores something only
when acknowledged. After every batch the socket still answers a ping. The session endpoint answers every method,
content type and body with 201 or a documented 4xx, and starts a conversation only with 201.

Example counts come from the Hypothesis profile (tests/portal/conftest.py: few, derandomized, no example
database, so CI is fast and the same every run); `HYPOTHESIS_PROFILE=fuzz-deep` runs many more.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, get_args

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings
from hypothesis import example, given
from hypothesis import strategies as st
from portal_support import make_agent, queue_conversation, socket_headers, start_conversation

from config.asgi import application
from conversations import transitions
from conversations.models import AuditRecord, Conversation, Message
from conversations.frames import ErrorCode
from conversations.sessions import session_token

pytestmark = pytest.mark.django_db(transaction=True)

ERROR_CODES = set(get_args(ErrorCode))  # docs/protocol.md, "error"
MAX_FRAME_BYTES = 16384  # SWITCHBOARD_MAX_FRAME_BYTES's default
CUSTOMER_ANSWERS = {"pong", "message.ack", "messages.synced", "error"}
AGENT_ANSWERS = {"pong", "message.ack", "messages.synced", "conversation.snapshot", "error"}
EVENTS = {"message.new", "conversation.status", "handoff.updated"}  # may come at any time, from any action
CUSTOMER_TYPES = ["ping", "message.send", "messages.sync"]
AGENT_TYPES = [
    "ping",
    "message.send",
    "messages.sync",
    "conversation.open",
    "handoff.claim",
    "conversation.resolve",
    "conversation.hand_back",
    "conversation.reassign",
]

# --- what the fuzz sends ------------------------------------------------------------------------------------

# Strings a person or a script might send: any unicode, control and format characters, bidi overrides, NUL,
# commands, the limits' edges.
weird_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Co"]), min_size=1, max_size=20),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\u202egnp.exe", "/restart", " /affirm", "hi" * 1000 + "!", "💳" * 2001]),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | weird_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(weird_text, inner, max_size=3),
    max_leaves=8,
)
not_a_string = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                         st.lists(json_value, max_size=2), st.dictionaries(st.text(max_size=5), json_value, max_size=2))
not_a_seq = st.one_of(not_a_string.filter(lambda v: isinstance(v, bool) or not isinstance(v, int)),
                      st.integers(max_value=-1), st.text(max_size=5))


def frame(**fields: Any) -> str:
    return json.dumps(fields)


# (what is sent, the error codes it may get): bad by construction, so it must get one of them.
Bad = tuple[str | bytes, set[str]]


def not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def bad_frames(known_types: list[str], bad_fields: st.SearchStrategy[str]) -> st.SearchStrategy[Bad]:
    malformed = {"malformed_frame"}
    return st.one_of(
        st.binary(max_size=64).map(lambda b: (b, malformed)),
        st.text(max_size=30).filter(not_json).map(lambda t: (t, malformed)),
        json_value.filter(lambda v: not isinstance(v, dict)).map(lambda v: (json.dumps(v), malformed)),
        st.dictionaries(weird_text, json_value, max_size=3)
        .map(lambda d: {k: v for k, v in d.items() if k != "type"})
        .flatmap(lambda d: st.one_of(st.just(d), not_a_string.map(lambda t: {**d, "type": t})))
        .map(lambda d: (json.dumps(d), malformed)),
        weird_text.filter(lambda t: t not in known_types).map(lambda t: (frame(type=t), {"unknown_type"})),
        bad_fields.map(lambda f: (f, {"invalid_field", "text_too_long"})),
        st.sampled_from(known_types).map(lambda t: (frame(type=t, pad="x" * 17000), {"frame_too_large"})),
    )


client_ids = st.one_of(st.uuids().map(str), st.text(min_size=1, max_size=64))
bad_client_ids = st.one_of(not_a_string, st.just(""), st.text(min_size=65, max_size=80))
# Text that is no message: not a string, empty or only spaces, over 2,000 characters, or a command.
bad_texts = st.one_of(
    not_a_string, st.sampled_from(["", "   ", "\n\t"]), st.text(min_size=2001, max_size=2100).filter(str.strip),
    st.text(max_size=20).map(lambda t: "/" + t.strip()),
)

bad_customer_fields = st.one_of(
    st.builds(lambda c, t: frame(type="message.send", client_id=c, text=t), bad_client_ids, weird_text),
    st.builds(lambda c, t: frame(type="message.send", client_id=c, text=t), client_ids, bad_texts),
    st.builds(lambda c: frame(type="message.send", client_id=c), client_ids),
    # A payload the bot never offered (none was) or not a string.
    st.builds(lambda c, p: frame(type="message.send", client_id=c, text="Yes", payload=p), client_ids,
              st.one_of(st.text(min_size=1, max_size=30), not_a_string.filter(lambda v: v is not None))),
    not_a_seq.map(lambda s: frame(type="messages.sync", after_seq=s)),
    st.just(frame(type="messages.sync")),
)

conversation_ids = st.one_of(st.uuids().map(str), st.just("OPEN"), st.just("QUEUED"))
bad_conversation_ids = st.one_of(not_a_string, st.text(max_size=40).filter(lambda t: not _is_uuid(t)))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


bad_agent_fields = st.one_of(
    st.builds(lambda t, c: frame(type=t, conversation_id=c), st.sampled_from(AGENT_TYPES[3:7]), bad_conversation_ids),
    st.builds(lambda c, i, t: frame(type="message.send", conversation_id=c, client_id=i, text=t),
              conversation_ids, bad_client_ids, weird_text),
    st.builds(lambda c, i, t: frame(type="message.send", conversation_id=c, client_id=i, text=t),
              conversation_ids, client_ids, bad_texts.filter(lambda t: not (isinstance(t, str) and t.startswith("/")))),
    st.builds(lambda c, s: frame(type="messages.sync", conversation_id=c, after_seq=s), conversation_ids, not_a_seq),
    st.builds(lambda c, a: frame(type="conversation.reassign", conversation_id=c, agent_id=a), conversation_ids,
              st.one_of(not_a_string.filter(lambda v: isinstance(v, bool) or not isinstance(v, int)),
                        st.integers(max_value=0))),
)


def any_frames(types: list[str]) -> st.SearchStrategy[str]:
    """Frames of a known type (or not) with fields of any kind: valid or not, whatever comes."""
    fields = st.fixed_dictionaries(
        {},
        optional={
            "client_id": st.one_of(client_ids, json_value),
            "text": st.one_of(weird_text, json_value),
            "payload": st.one_of(weird_text, json_value),
            "after_seq": st.one_of(st.integers(-5, 2**70), json_value),
            "conversation_id": st.one_of(conversation_ids, json_value),
            "agent_id": st.one_of(st.integers(-5, 2**70), st.just("ME"), json_value),
        },
    )
    return st.builds(lambda t, f: json.dumps({"type": t, **f}), st.one_of(st.sampled_from(types), weird_text), fields)


# A message as a client would send it, its text anything at all: what the portal stores, or refuses.
messages_of_any_text = st.builds(
    lambda c, t, conversation: json.dumps({"type": "message.send", "client_id": c, "text": t, "conversation_id": conversation}),
    client_ids, st.one_of(weird_text, st.builds("{}{}{}".format, weird_text, weird_text, weird_text)), conversation_ids,
)


def batch(types: list[str], bad_fields: st.SearchStrategy[str]) -> st.SearchStrategy[list[tuple[str | bytes, set[str] | None]]]:
    """Up to 6 frames: bad ones (with the codes they may get) and any ones (None: whatever is documented)."""
    one = st.one_of(
        bad_frames(types, bad_fields),
        any_frames(types).map(lambda f: (f, None)),
        messages_of_any_text.map(lambda f: (f, None)),
    )
    return st.lists(one, min_size=1, max_size=6)


# --- driving a socket ---------------------------------------------------------------------------------------


async def answers_to(socket: WebsocketCommunicator, sent: str | bytes) -> list[dict[str, Any]]:
    """Send one frame, then a ping; every frame that came before the ping's pong (a ping's own pong too)."""
    # As the ASGI server passes a frame on (send_to refuses an empty one, which a client may still send).
    await socket.send_input({"type": "websocket.receive", "bytes" if isinstance(sent, bytes) else "text": sent})
    await socket.send_to(text_data='{"type": "ping"}')
    received: list[dict[str, Any]] = []
    pongs_wanted = 2 if _reads_as_ping(sent) else 1
    while True:
        output = await socket.receive_output()
        assert output["type"] == "websocket.send", f"the socket closed: {output} after {sent!r}"
        received.append(json.loads(output["text"]))
        if sum(f["type"] == "pong" for f in received) == pongs_wanted:
            return received[:-1]


def _reads_as_ping(sent: str | bytes) -> bool:
    try:
        return isinstance(sent, str) and json.loads(sent).get("type") == "ping" and len(sent.encode()) <= MAX_FRAME_BYTES
    except (ValueError, AttributeError):
        return False


def stored() -> tuple[int, int, int]:
    return Message.objects.count(), AuditRecord.objects.count(), Conversation.objects.count()


async def check_batch(
    socket: WebsocketCommunicator,
    frames: list[tuple[str | bytes, set[str] | None]],
    answers: set[str],
    only_acked_messages: bool,
) -> None:
    """`only_acked_messages`: the customer stores messages only by sending them; an agent's claim, resolve or
    hand back stores a notice to the customer too."""
    for sent, codes in frames:
        before = await database_sync_to_async(stored)()
        received = [f for f in await answers_to(socket, sent) if f["type"] not in EVENTS]
        after = await database_sync_to_async(stored)()
        assert {f["type"] for f in received} <= answers, (sent, received)
        errors = [f for f in received if f["type"] == "error"]
        assert all(e["code"] in ERROR_CODES for e in errors), (sent, errors)
        if isinstance(sent, str) and len(sent.encode()) > MAX_FRAME_BYTES:
            codes = {"frame_too_large"}  # checked before anything else in it
        if codes is not None:  # bad by construction
            assert len(received) == 1 and len(errors) == 1 and errors[0]["code"] in codes, (sent, received)
        if errors:
            assert after == before, f"a refused frame stored something: {sent!r}"
        elif only_acked_messages and not any(f["type"] == "message.ack" for f in received):
            assert after[0] == before[0], f"a message was stored without an ack: {sent!r}"


def run_on_socket(
    path: str,
    headers: list[tuple[bytes, bytes]],
    first: str,
    body: Callable[[WebsocketCommunicator], Awaitable[None]],
    hello: dict[str, Any] | None = None,
) -> None:
    """`hello`: the frame the client sends first (the customer socket's `auth`), before `first` comes back."""

    async def session() -> None:
        # Each example runs on an event loop of its own: the layers (and a Redis layer's locks) are made anew.
        channel_layers.backends.clear()
        socket = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await socket.connect()
        assert connected
        if hello is not None:
            await socket.send_json_to(hello)
        try:
            assert (await socket.receive_json_from())["type"] == first
            await body(socket)
        finally:
            await socket.disconnect()

    # The flood limits count from zero for each example, as for each test (else the later examples would only
    # ever meet `rate_limited`, and a frame that breaks the portal further in would go unseen).
    with override_settings(RATELIMIT_CACHE_PREFIX=f"rl:{uuid.uuid4().hex}:"):
        async_to_sync(session)()


# --- the tests ----------------------------------------------------------------------------------------------


# Found by the fuzz: a NUL character crashed the socket on PostgreSQL (now `invalid_field`).
NUL_MESSAGE = json.dumps({"type": "message.send", "client_id": "c\u0000", "text": "hi\u0000", "conversation_id": "OPEN"})


@given(frames=batch(CUSTOMER_TYPES, bad_customer_fields))
@example(frames=[(NUL_MESSAGE, {"invalid_field"})])
@example(frames=[(frame(type="messages.sync", after_seq=2**70), None)])
def test_customer_socket_survives_any_frames(
    frames: list[tuple[str | bytes, set[str] | None]], fake_rasa: Any, no_delivery_task: Any
) -> None:
    conversation = start_conversation()
    run_on_socket(
        "/ws/customer/",
        [],
        "conversation.snapshot",
        lambda socket: check_batch(socket, frames, CUSTOMER_ANSWERS, only_acked_messages=True),
        hello={"type": "auth", "token": session_token(conversation.pk)},
    )


@given(frames=batch(AGENT_TYPES, bad_agent_fields))
@example(frames=[(NUL_MESSAGE, {"invalid_field"})])
@example(frames=[(frame(type="conversation.reassign", conversation_id="OPEN", agent_id=2**70), None)])
@example(frames=[(frame(type="messages.sync", conversation_id="OPEN", after_seq=2**70), None)])
def test_agent_socket_survives_any_frames(
    frames: list[tuple[str | bytes, set[str] | None]], sue: Any, fake_rasa: Any, no_delivery_task: Any
) -> None:
    # A supervisor, so frames reach every action; real ids of a conversation of theirs and a queued one.
    mine, queued = start_conversation(), start_conversation()
    queue_conversation(mine)
    transitions.conversation_claim(conversation_id=mine.pk, agent=sue)
    queue_conversation(queued)
    names = {'"OPEN"': f'"{mine.pk}"', '"QUEUED"': f'"{queued.pk}"', '"ME"': str(sue.pk)}

    def real(sent: str | bytes) -> str | bytes:
        if isinstance(sent, str):
            for name, value in names.items():
                sent = sent.replace(name, value)
        return sent

    run_on_socket(
        "/ws/agent/",
        socket_headers(sue),
        "inbox.snapshot",
        lambda socket: check_batch(socket, [(real(s), c) for s, c in frames], AGENT_ANSWERS, only_acked_messages=False),
    )


@given(
    method=st.sampled_from(["POST", "GET", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                  "multipart/form-data; boundary=x", "application/octet-stream", "\x00"]),
    body=st.one_of(st.binary(max_size=200), json_value.map(lambda v: json.dumps(v).encode()),
                   st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass"))),
)
def test_session_endpoint_answers_anything_without_a_server_error(method: str, content_type: str, body: bytes) -> None:
    before = Conversation.objects.count()
    response = Client(raise_request_exception=False).generic(
        method, "/api/widget/sessions", data=body, content_type=content_type
    )
    assert response.status_code in (201, 400, 401, 403, 405, 413, 415, 429), response.status_code
    if response.status_code == 201:
        answer = json.loads(response.content)
        assert set(answer) == {"conversation_id", "token", "customer"}
        assert Conversation.objects.count() == before + 1
    else:
        assert Conversation.objects.count() == before


# (At least one byte or character: the test client cannot send an empty frame.)
@given(
    first=st.one_of(
        st.binary(min_size=1, max_size=100), st.text(min_size=1, max_size=200), json_value.map(json.dumps)
    )
)
def test_any_first_frame_but_a_good_auth_closes_the_customer_socket(first: str | bytes) -> None:
    async def session() -> None:
        channel_layers.backends.clear()
        socket = WebsocketCommunicator(application, "/ws/customer/")
        assert (await socket.connect())[0]
        if isinstance(first, bytes):
            await socket.send_to(bytes_data=first)
        else:
            await socket.send_to(text_data=first)
        assert await socket.receive_output() == {"type": "websocket.close", "code": 4401}
        await socket.disconnect()

    async_to_sync(session)()
