"""Every frame of the customer and agent WebSockets, in one place (docs/protocol.md is its prose).

Server → client frames are TypedDicts built only by the `*_frame` functions below; `check_server_frame` checks a
frame against its shape (the tests run it over every frame the portal sends). Client → server frames are parsed
by `parse_client_frame` into small dataclasses, or refused with a `FrameError` naming the error code.
"""

from __future__ import annotations

import json
import types
import typing
import uuid
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Union

from django.conf import settings

from agents.models import display_name
from conversations.models import Conversation, Handoff, Message

# --- shapes shared by frames --------------------------------------------------------------------------------

StatusCode = Literal["bot", "queued", "assigned", "resolved"]
SenderCode = Literal["customer", "bot", "agent", "system"]
PriorityCode = Literal["low", "normal", "high", "urgent"]
ErrorCode = Literal[
    "malformed_frame",
    "frame_too_large",
    "unknown_type",
    "invalid_field",
    "text_too_long",
    "unknown_conversation",
    "not_allowed",
    "conversation_closed",
]


class AgentView(TypedDict):
    display_name: str


class StaffAgentView(AgentView):
    """An agent as other agents see them: with the user id, so "assigned to me" never rests on a name."""

    id: int


class ButtonView(TypedDict):
    title: str
    payload: str


class MessageView(TypedDict):
    id: int
    conversation_id: str
    sender: SenderCode
    text: str
    buttons: list[ButtonView]
    agent: AgentView | None
    client_id: str | None
    created_at: str


class ConversationView(TypedDict):
    id: str
    status: StatusCode
    agent: AgentView | None


class HandoffView(TypedDict):
    conversation_id: str
    status: StatusCode  # the conversation's status now: queued, assigned, resolved or bot (handed back)
    priority: PriorityCode
    reason: str
    reason_label: str
    queued_at: str
    claimed_at: str | None
    closed_at: str | None
    agent: StaffAgentView | None
    context: dict[str, Any]  # conversations.context.ContextPacket.to_dict()


# --- server → client frames ---------------------------------------------------------------------------------


class CustomerSnapshotFrame(TypedDict):
    type: Literal["conversation.snapshot"]
    conversation: ConversationView
    messages: list[MessageView]


class AgentSnapshotFrame(TypedDict):
    type: Literal["conversation.snapshot"]
    conversation: ConversationView
    context: dict[str, Any] | None  # the latest handoff's context packet; None if it never left the bot
    messages: list[MessageView]


class MessageAckFrame(TypedDict):
    type: Literal["message.ack"]
    conversation_id: str
    client_id: str
    message: MessageView


class MessageNewFrame(TypedDict):
    type: Literal["message.new"]
    conversation_id: str
    message: MessageView


class ConversationStatusFrame(TypedDict):
    type: Literal["conversation.status"]
    conversation_id: str
    status: StatusCode
    agent: AgentView | None


class InboxSnapshotFrame(TypedDict):
    type: Literal["inbox.snapshot"]
    handoffs: list[HandoffView]


class HandoffUpdatedFrame(TypedDict):
    type: Literal["handoff.updated"]
    handoff: HandoffView


class PongFrame(TypedDict):
    type: Literal["pong"]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: ErrorCode
    detail: str
    client_id: str | None


CUSTOMER_SERVER_FRAMES: dict[str, type] = {
    "conversation.snapshot": CustomerSnapshotFrame,
    "message.ack": MessageAckFrame,
    "message.new": MessageNewFrame,
    "conversation.status": ConversationStatusFrame,
    "pong": PongFrame,
    "error": ErrorFrame,
}
AGENT_SERVER_FRAMES: dict[str, type] = {
    "inbox.snapshot": InboxSnapshotFrame,
    "handoff.updated": HandoffUpdatedFrame,
    "conversation.snapshot": AgentSnapshotFrame,
    "message.ack": MessageAckFrame,
    "message.new": MessageNewFrame,
    "conversation.status": ConversationStatusFrame,
    "pong": PongFrame,
    "error": ErrorFrame,
}


# --- views of stored rows -----------------------------------------------------------------------------------


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def agent_view(user: Any) -> AgentView | None:
    return {"display_name": display_name(user)} if user is not None else None


def staff_agent_view(user: Any) -> StaffAgentView:
    return {"id": user.pk, "display_name": display_name(user)}


def message_view(message: Message) -> MessageView:
    return {
        "id": message.pk,
        "conversation_id": str(message.conversation_id),
        "sender": message.sender,  # type: ignore[typeddict-item]
        "text": message.text,
        "buttons": [{"title": b["title"], "payload": b["payload"]} for b in message.buttons],
        "agent": agent_view(message.agent) if message.agent_id else None,
        "client_id": message.client_id,
        "created_at": message.created_at.isoformat(),
    }


def conversation_view(conversation: Conversation) -> ConversationView:
    return {
        "id": str(conversation.pk),
        "status": conversation.status,  # type: ignore[typeddict-item]
        "agent": agent_view(conversation.assigned_agent) if conversation.assigned_agent_id else None,
    }


def handoff_view(handoff: Handoff) -> HandoffView:
    return {
        "conversation_id": str(handoff.conversation_id),
        "status": handoff.conversation.status,
        "priority": handoff.priority,
        "reason": handoff.reason,
        "reason_label": handoff.get_reason_display(),
        "queued_at": handoff.queued_at.isoformat(),
        "claimed_at": _iso(handoff.claimed_at),
        "closed_at": _iso(handoff.closed_at),
        "agent": staff_agent_view(handoff.claimed_by) if handoff.claimed_by_id else None,
        "context": handoff.context,
    }


# --- frame builders -----------------------------------------------------------------------------------------


def customer_snapshot_frame(conversation: Conversation, messages: list[Message]) -> CustomerSnapshotFrame:
    return {
        "type": "conversation.snapshot",
        "conversation": conversation_view(conversation),
        "messages": [message_view(m) for m in messages],
    }


def agent_snapshot_frame(
    conversation: Conversation, context: dict[str, Any] | None, messages: list[Message]
) -> AgentSnapshotFrame:
    return {
        "type": "conversation.snapshot",
        "conversation": conversation_view(conversation),
        "context": context,
        "messages": [message_view(m) for m in messages],
    }


def message_ack_frame(client_id: str, message: MessageView) -> MessageAckFrame:
    return {
        "type": "message.ack",
        "conversation_id": message["conversation_id"],
        "client_id": client_id,
        "message": message,
    }


def message_new_frame(message: MessageView) -> MessageNewFrame:
    return {"type": "message.new", "conversation_id": message["conversation_id"], "message": message}


def conversation_status_frame(
    conversation_id: str, status: StatusCode, agent: AgentView | None
) -> ConversationStatusFrame:
    return {
        "type": "conversation.status",
        "conversation_id": conversation_id,
        "status": status,
        "agent": agent,
    }


def inbox_snapshot_frame(handoffs: list[HandoffView]) -> InboxSnapshotFrame:
    return {"type": "inbox.snapshot", "handoffs": handoffs}


def handoff_updated_frame(handoff: HandoffView) -> HandoffUpdatedFrame:
    return {"type": "handoff.updated", "handoff": handoff}


def pong_frame() -> PongFrame:
    return {"type": "pong"}


def error_frame(code: ErrorCode, detail: str, client_id: str | None = None) -> ErrorFrame:
    return {"type": "error", "code": code, "detail": detail, "client_id": client_id}


def json_dumps(frame: Any) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


# --- checking a server frame against its shape --------------------------------------------------------------


class FrameShapeError(AssertionError):
    """A frame the portal built does not match its declared shape (a bug in the portal)."""


def check_server_frame(frame: Any, shapes: dict[str, type]) -> None:
    """Raise FrameShapeError unless `frame` matches the shape registered for its type in `shapes`."""
    if not isinstance(frame, dict) or frame.get("type") not in shapes:
        raise FrameShapeError(f"frame of no known type: {frame!r}")
    _check(frame, shapes[frame["type"]], frame["type"])


def _check(value: Any, shape: Any, where: str) -> None:
    origin = typing.get_origin(shape)
    if typing.is_typeddict(shape):
        hints = typing.get_type_hints(shape)
        if not isinstance(value, dict) or set(value) != set(hints):
            got = sorted(value) if isinstance(value, dict) else type(value).__name__
            raise FrameShapeError(f"{where}: expected keys {sorted(hints)}, got {got}")
        for key, hint in hints.items():
            _check(value[key], hint, f"{where}.{key}")
    elif origin is Literal:
        if value not in typing.get_args(shape):
            raise FrameShapeError(f"{where}: {value!r} not one of {typing.get_args(shape)}")
    elif origin in (Union, types.UnionType):
        errors = []
        for option in typing.get_args(shape):
            try:
                return _check(value, option, where)
            except FrameShapeError as exc:
                errors.append(str(exc))
        raise FrameShapeError(f"{where}: matches none of {errors}")
    elif origin is list:
        if not isinstance(value, list):
            raise FrameShapeError(f"{where}: expected a list, got {value!r}")
        for i, item in enumerate(value):
            _check(item, typing.get_args(shape)[0], f"{where}[{i}]")
    elif origin is dict:
        if not isinstance(value, dict):
            raise FrameShapeError(f"{where}: expected an object, got {value!r}")
    elif shape is type(None):
        if value is not None:
            raise FrameShapeError(f"{where}: expected null, got {value!r}")
    elif shape is Any:
        return
    elif not isinstance(value, shape) or (shape is int and isinstance(value, bool)):
        raise FrameShapeError(f"{where}: expected {shape.__name__}, got {value!r}")


# --- client → server frames ---------------------------------------------------------------------------------


class FrameError(Exception):
    """A client frame the portal refuses; answered with an `error` frame carrying `code`."""

    def __init__(self, code: ErrorCode, detail: str, client_id: str | None = None) -> None:
        super().__init__(detail)
        self.code: ErrorCode = code
        self.detail = detail
        self.client_id = client_id


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class CustomerMessageSend:
    client_id: str
    text: str
    payload: str


@dataclass(frozen=True)
class AgentMessageSend:
    conversation_id: uuid.UUID
    client_id: str
    text: str


@dataclass(frozen=True)
class ConversationAction:
    """conversation.open, handoff.claim, conversation.resolve, conversation.hand_back: one conversation id."""

    type: str
    conversation_id: uuid.UUID


CustomerFrame = Union[Ping, CustomerMessageSend]
AgentFrame = Union[Ping, AgentMessageSend, ConversationAction]
AGENT_ACTIONS = ("conversation.open", "handoff.claim", "conversation.resolve", "conversation.hand_back")
CLIENT_ID_MAX_CHARS = 64


def decode_frame(text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
    """The JSON object of a text frame, or FrameError (binary, too large, not JSON, no type)."""
    if text_data is None:
        raise FrameError("malformed_frame", "binary frames are not accepted; send JSON text")
    size = len(text_data.encode("utf-8"))
    if size > settings.SWITCHBOARD_MAX_FRAME_BYTES:
        raise FrameError(
            "frame_too_large", f"frame is {size} bytes; the limit is {settings.SWITCHBOARD_MAX_FRAME_BYTES}"
        )
    try:
        data = json.loads(text_data)
    except ValueError:
        raise FrameError("malformed_frame", "frame is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise FrameError("malformed_frame", "a frame is a JSON object with a string 'type'")
    return data


def parse_customer_frame(data: dict[str, Any]) -> CustomerFrame:
    kind = data["type"]
    if kind == "ping":
        return Ping()
    if kind == "message.send":
        client_id = _client_id(data)
        return CustomerMessageSend(
            client_id=client_id,
            text=_text(data, client_id),
            payload=_optional_str(data, "payload", client_id, settings.SWITCHBOARD_MAX_TEXT_CHARS),
        )
    raise FrameError("unknown_type", f"unknown frame type {kind!r}")


def parse_agent_frame(data: dict[str, Any]) -> AgentFrame:
    kind = data["type"]
    if kind == "ping":
        return Ping()
    if kind == "message.send":
        client_id = _client_id(data)
        return AgentMessageSend(
            conversation_id=_conversation_id(data), client_id=client_id, text=_text(data, client_id)
        )
    if kind in AGENT_ACTIONS:
        return ConversationAction(type=kind, conversation_id=_conversation_id(data))
    raise FrameError("unknown_type", f"unknown frame type {kind!r}")


def _client_id(data: dict[str, Any]) -> str:
    value = data.get("client_id")
    if not isinstance(value, str) or not value or len(value) > CLIENT_ID_MAX_CHARS:
        raise FrameError(
            "invalid_field",
            f"client_id must be a non-empty string of at most {CLIENT_ID_MAX_CHARS} characters",
        )
    return value


def _text(data: dict[str, Any], client_id: str) -> str:
    value = data.get("text")
    if not isinstance(value, str) or not value.strip():
        raise FrameError("invalid_field", "text must be a non-empty string", client_id)
    if len(value) > settings.SWITCHBOARD_MAX_TEXT_CHARS:
        raise FrameError(
            "text_too_long",
            f"text is {len(value)} characters; the limit is {settings.SWITCHBOARD_MAX_TEXT_CHARS}",
            client_id,
        )
    return value.strip()


def _optional_str(data: dict[str, Any], key: str, client_id: str, limit: int) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise FrameError("invalid_field", f"{key} must be a string of at most {limit} characters", client_id)
    return value


def _conversation_id(data: dict[str, Any]) -> uuid.UUID:
    value = data.get("conversation_id")
    try:
        return uuid.UUID(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        raise FrameError("invalid_field", "conversation_id must be a conversation's UUID") from None
