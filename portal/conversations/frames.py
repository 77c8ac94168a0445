"""Every frame of the customer and agent WebSockets, typed once with pydantic (docs/protocol.md is its prose).

Server → client frames are models built only by the `*_frame` functions below: building one checks it (strict
types, no extra field), and `CUSTOMER_SERVER_FRAMES` / `AGENT_SERVER_FRAMES` check a sent frame against what its
socket may send (the tests run them over every frame the portal sends). Client → server frames are parsed by the
same kind of models into `Ping`, `CustomerMessageSend`, …, or refused with a `FrameError` naming the error code.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal, TypeVar, Union

from django.conf import settings
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from agents.models import display_name
from bot_gateway import domain
from contracts.commands import reads_as_command
from conversations.context import AnyContextPacket, read_context_packet
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
    "rate_limited",
]


class Shape(BaseModel):
    """What the portal sends: exact types (nothing coerced), no field left out or added."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class AgentView(Shape):
    display_name: str


class StaffAgentView(AgentView):
    """An agent as other agents see them: with the user id, so "assigned to me" never rests on a name."""

    id: int


class ButtonView(Shape):
    title: str
    payload: str


class MessageView(Shape):
    id: int
    conversation_id: str
    seq: int  # 1, 2, 3, … in the conversation: a number skipped is a message missed (messages.sync)
    sender: SenderCode
    text: str
    # A customer's chosen button: the payload the bot was sent (its title is the text); else "".
    payload: str
    buttons: list[ButtonView]
    agent: AgentView | None
    client_id: str | None
    created_at: str


class ConversationView(Shape):
    id: str
    status: StatusCode
    agent: AgentView | None


class HandoffView(Shape):
    conversation_id: str
    status: StatusCode  # the conversation's status now: queued, assigned, resolved or bot (handed back)
    priority: PriorityCode
    reason: str
    reason_label: str
    queued_at: str
    claimed_at: str | None
    closed_at: str | None
    agent: StaffAgentView | None
    # Null for a socket whose user may not read it (an agent, once another agent has it): agents/roles.py.
    context: AnyContextPacket | None
    over_limit: bool  # queued past its address's flood limit: listed after every other handoff


# --- server → client frames ---------------------------------------------------------------------------------


class CustomerSnapshotFrame(Shape):
    type: Literal["conversation.snapshot"] = "conversation.snapshot"
    conversation: ConversationView
    messages: list[MessageView]


class AgentSnapshotFrame(Shape):
    type: Literal["conversation.snapshot"] = "conversation.snapshot"
    conversation: ConversationView
    context: AnyContextPacket | None  # the latest handoff's context packet; None if it never left the bot
    messages: list[MessageView]


class MessageAckFrame(Shape):
    type: Literal["message.ack"] = "message.ack"
    conversation_id: str
    client_id: str
    message: MessageView


class MessageNewFrame(Shape):
    type: Literal["message.new"] = "message.new"
    conversation_id: str
    message: MessageView


class MessagesSyncedFrame(Shape):
    """The answer to `messages.sync`: the conversation's messages numbered after `after_seq`, in order."""

    type: Literal["messages.synced"] = "messages.synced"
    conversation_id: str
    after_seq: int
    messages: list[MessageView]


class ConversationStatusFrame(Shape):
    type: Literal["conversation.status"] = "conversation.status"
    conversation_id: str
    status: StatusCode
    agent: AgentView | None


class InboxSnapshotFrame(Shape):
    type: Literal["inbox.snapshot"] = "inbox.snapshot"
    handoffs: list[HandoffView]
    agents: list[StaffAgentView]  # who a conversation can be given to: for a user who may reassign, else empty
    intents: list[str]  # what a resolving agent may say the customer needed: the bot's domain intents


class HandoffUpdatedFrame(Shape):
    type: Literal["handoff.updated"] = "handoff.updated"
    handoff: HandoffView


class PongFrame(Shape):
    type: Literal["pong"] = "pong"


class ErrorFrame(Shape):
    type: Literal["error"] = "error"
    code: ErrorCode
    detail: str
    client_id: str | None
    retry_after: int | None = None  # rate_limited: the seconds to wait before sending again


CustomerServerFrame = Annotated[
    Union[
        CustomerSnapshotFrame,
        MessageAckFrame,
        MessageNewFrame,
        MessagesSyncedFrame,
        ConversationStatusFrame,
        PongFrame,
        ErrorFrame,
    ],
    Field(discriminator="type"),
]
AgentServerFrame = Annotated[
    Union[
        InboxSnapshotFrame,
        HandoffUpdatedFrame,
        AgentSnapshotFrame,
        MessageAckFrame,
        MessageNewFrame,
        MessagesSyncedFrame,
        ConversationStatusFrame,
        PongFrame,
        ErrorFrame,
    ],
    Field(discriminator="type"),
]
# What each socket may send, to check a frame on the wire (JSON) or as built (a dict or a model).
CUSTOMER_SERVER_FRAMES: TypeAdapter[CustomerServerFrame] = TypeAdapter(CustomerServerFrame)
AGENT_SERVER_FRAMES: TypeAdapter[AgentServerFrame] = TypeAdapter(AgentServerFrame)


# --- views of stored rows -----------------------------------------------------------------------------------


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def agent_view(user: Any) -> AgentView | None:
    return AgentView(display_name=display_name(user)) if user is not None else None


def staff_agent_view(user: Any) -> StaffAgentView:
    return StaffAgentView(id=user.pk, display_name=display_name(user))


def message_view(message: Message) -> MessageView:
    return MessageView(
        id=message.pk,
        conversation_id=str(message.conversation_id),
        seq=message.seq,
        sender=message.sender,  # type: ignore[arg-type]  # a Sender value; the model checks it
        text=message.text,
        payload=message.payload,
        buttons=[ButtonView(title=b["title"], payload=b["payload"]) for b in message.buttons],
        agent=agent_view(message.agent) if message.agent_id else None,
        client_id=message.client_id,
        created_at=message.created_at.isoformat(),
    )


def conversation_view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        id=str(conversation.pk),
        status=conversation.status,  # type: ignore[arg-type]  # a ConversationStatus value; the model checks it
        agent=agent_view(conversation.assigned_agent) if conversation.assigned_agent_id else None,
    )


def handoff_view(handoff: Handoff) -> HandoffView:
    """The handoff with its context packet; `without_context` makes the view of it for those not allowed that."""
    return HandoffView(
        conversation_id=str(handoff.conversation_id),
        status=handoff.conversation.status,  # type: ignore[arg-type]
        priority=handoff.priority,  # type: ignore[arg-type]
        reason=handoff.reason,
        reason_label=handoff.get_reason_display(),
        queued_at=handoff.queued_at.isoformat(),
        claimed_at=_iso(handoff.claimed_at),
        closed_at=_iso(handoff.closed_at),
        agent=staff_agent_view(handoff.claimed_by) if handoff.claimed_by_id else None,
        context=read_context_packet(handoff.context),
        over_limit=handoff.over_limit,
    )


# --- frame builders -----------------------------------------------------------------------------------------
# Views arriving from the channel layer are dicts (Shape.model_dump()); building the frame checks them again.


def customer_snapshot_frame(conversation: Conversation, messages: list[Message]) -> CustomerSnapshotFrame:
    return CustomerSnapshotFrame(
        conversation=conversation_view(conversation), messages=[message_view(m) for m in messages]
    )


def agent_snapshot_frame(
    conversation: Conversation, context: dict[str, Any] | None, messages: list[Message]
) -> AgentSnapshotFrame:
    return AgentSnapshotFrame(
        conversation=conversation_view(conversation),
        context=read_context_packet(context) if context is not None else None,
        messages=[message_view(m) for m in messages],
    )


def message_ack_frame(client_id: str, message: MessageView) -> MessageAckFrame:
    return MessageAckFrame(conversation_id=message.conversation_id, client_id=client_id, message=message)


def message_new_frame(message: MessageView | dict[str, Any]) -> MessageNewFrame:
    view = MessageView.model_validate(message)
    return MessageNewFrame(conversation_id=view.conversation_id, message=view)


def messages_synced_frame(conversation_id: str, after_seq: int, messages: list[Message]) -> MessagesSyncedFrame:
    return MessagesSyncedFrame(
        conversation_id=conversation_id, after_seq=after_seq, messages=[message_view(m) for m in messages]
    )


def conversation_status_frame(
    conversation_id: str, status: StatusCode, agent: AgentView | dict[str, Any] | None
) -> ConversationStatusFrame:
    return ConversationStatusFrame.model_validate(
        {"conversation_id": conversation_id, "status": status, "agent": agent}
    )


def without_context(view: HandoffView) -> HandoffView:
    return view.model_copy(update={"context": None})


def inbox_snapshot_frame(handoffs: list[HandoffView], agents: list[StaffAgentView]) -> InboxSnapshotFrame:
    return InboxSnapshotFrame(handoffs=handoffs, agents=agents, intents=domain.domain_intents())


def handoff_updated_frame(handoff: HandoffView) -> HandoffUpdatedFrame:
    return HandoffUpdatedFrame(handoff=handoff)


def pong_frame() -> PongFrame:
    return PongFrame()


def error_frame(
    code: ErrorCode, detail: str, client_id: str | None = None, retry_after: int | None = None
) -> ErrorFrame:
    return ErrorFrame(code=code, detail=detail, client_id=client_id, retry_after=retry_after)


def frame_json(frame: Shape) -> str:
    """The frame as sent: compact JSON, UTF-8 as is."""
    return frame.model_dump_json()


# --- client → server frames ---------------------------------------------------------------------------------


class FrameError(Exception):
    """A client frame the portal refuses; answered with an `error` frame carrying `code`."""

    def __init__(
        self, code: ErrorCode, detail: str, client_id: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(detail)
        self.code: ErrorCode = code
        self.detail = detail
        self.client_id = client_id
        self.retry_after = retry_after


def _no_nul(value: str) -> str:
    """PostgreSQL stores no NUL character in text: one in a client's string is refused, not a crash (the fuzz,
    tests/portal/test_fuzz.py, found it)."""
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "contains a NUL character (U+0000)")
    return value


CLIENT_ID_MAX_CHARS = 64
ClientId = Annotated[str, Field(min_length=1, max_length=CLIENT_ID_MAX_CHARS), AfterValidator(_no_nul)]


class ClientFrame(BaseModel):
    """What a client sends: fields it does not need to send are ignored; the type decides the model."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def _within_text_limit(value: str) -> str:
    """The limit is a setting, read when a frame comes in; over it is an error code of its own."""
    limit = settings.SWITCHBOARD_MAX_TEXT_CHARS
    if len(value) > limit:
        raise PydanticCustomError(
            "text_too_long", "{length} characters; the limit is {limit}", {"length": len(value), "limit": limit}
        )
    return value


def _within_payload_limit(value: str) -> str:
    limit = settings.SWITCHBOARD_MAX_TEXT_CHARS
    if len(value) > limit:
        raise PydanticCustomError("string_too_long", "at most {limit} characters", {"limit": limit})
    return value


def _not_a_command(value: str) -> str:
    """A customer speaks text: what Rasa would read as an intent command comes only as an offered button's
    payload (contracts/commands.py)."""
    if reads_as_command(value):
        raise PydanticCustomError(
            "bot_command", "reads as a bot command (it starts with a slash); commands come only as an offered button's payload"
        )
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(_within_text_limit),
    AfterValidator(_no_nul),
]
CustomerText = Annotated[Text, AfterValidator(_not_a_command)]
# A bot button's payload (sent to the bot instead of the text); absent or null is none.
Payload = Annotated[
    str,
    BeforeValidator(lambda v: "" if v is None else v),
    AfterValidator(_within_payload_limit),
    AfterValidator(_no_nul),
]


class Ping(ClientFrame):
    type: Literal["ping"]


class CustomerMessageSend(ClientFrame):
    type: Literal["message.send"]
    client_id: ClientId
    text: CustomerText  # with a payload: the button's title (what is stored is the title the bot offered)
    payload: Payload = ""


class AgentMessageSend(ClientFrame):
    type: Literal["message.send"]
    conversation_id: uuid.UUID
    client_id: ClientId
    text: Text


# A seq the client has (0: none yet); strict, so `true` or "3" is refused rather than read as a number.
AfterSeq = Annotated[int, Field(strict=True, ge=0)]


class CustomerMessagesSync(ClientFrame):
    type: Literal["messages.sync"]
    after_seq: AfterSeq


class AgentMessagesSync(ClientFrame):
    type: Literal["messages.sync"]
    conversation_id: uuid.UUID
    after_seq: AfterSeq


class ConversationReassign(ClientFrame):
    """A supervisor gives the conversation to the agent `agent_id`, or takes it over (their own id)."""

    type: Literal["conversation.reassign"]
    conversation_id: uuid.UUID
    agent_id: Annotated[int, Field(strict=True, ge=1)]


class ConversationAction(ClientFrame):
    """conversation.open, handoff.claim, conversation.hand_back: one conversation id."""

    type: Literal["conversation.open", "handoff.claim", "conversation.hand_back"]
    conversation_id: uuid.UUID


def _a_domain_intent(value: str) -> str:
    if value not in domain.domain_intents():
        raise PydanticCustomError("unknown_intent", "not an intent of the bot's domain (inbox.snapshot's intents)")
    return value


class ResolveLabel(ClientFrame):
    """What the resolving agent says the customer needed, and whether a person was needed at all."""

    intent: Annotated[str, AfterValidator(_a_domain_intent)]
    handoff_needed: Annotated[bool, Field(strict=True)]


class ConversationResolve(ClientFrame):
    """The assigned agent closes the conversation, labelling its handoff or not."""

    type: Literal["conversation.resolve"]
    conversation_id: uuid.UUID
    label: ResolveLabel | None = None


class CustomerAuth(ClientFrame):
    """The customer socket's first frame: the session token, in a frame rather than the URL, so no access log,
    proxy or browser history keeps it (docs/protocol.md, "The customer socket")."""

    type: Literal["auth"]
    token: Annotated[str, Field(min_length=1, max_length=1000)]


CustomerFrame = Annotated[Union[Ping, CustomerMessageSend, CustomerMessagesSync], Field(discriminator="type")]
AgentFrame = Annotated[
    Union[
        Ping, AgentMessageSend, AgentMessagesSync, ConversationAction, ConversationResolve, ConversationReassign
    ],
    Field(discriminator="type"),
]
_CUSTOMER_FRAMES: TypeAdapter[CustomerFrame] = TypeAdapter(CustomerFrame)
_AGENT_FRAMES: TypeAdapter[AgentFrame] = TypeAdapter(AgentFrame)


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


_CUSTOMER_AUTH: TypeAdapter[CustomerAuth] = TypeAdapter(CustomerAuth)


def parse_customer_auth(data: dict[str, Any]) -> CustomerAuth:
    return _parse(_CUSTOMER_AUTH, data)


def parse_customer_frame(data: dict[str, Any]) -> Ping | CustomerMessageSend | CustomerMessagesSync:
    return _parse(_CUSTOMER_FRAMES, data)


def parse_agent_frame(
    data: dict[str, Any],
) -> (
    Ping | AgentMessageSend | AgentMessagesSync | ConversationAction | ConversationResolve | ConversationReassign
):
    return _parse(_AGENT_FRAMES, data)


_Frame = TypeVar("_Frame")


def _parse(frames: TypeAdapter[_Frame], data: dict[str, Any]) -> _Frame:
    try:
        return frames.validate_python(data)
    except ValidationError as exc:
        raise _frame_error(exc, data) from None


def _frame_error(exc: ValidationError, data: dict[str, Any]) -> FrameError:
    """The error frame for a refused client frame: its first error decides the code; the detail names fields."""
    errors = exc.errors()
    if errors[0]["type"] == "union_tag_invalid":
        return FrameError("unknown_type", f"unknown frame type {data['type']!r}")
    client_id = data.get("client_id")
    readable_id = client_id if isinstance(client_id, str) and 0 < len(client_id) <= CLIENT_ID_MAX_CHARS else None
    detail = "; ".join(f"{'.'.join(str(part) for part in error['loc'][1:])}: {error['msg']}" for error in errors)
    if all(error["type"] == "text_too_long" for error in errors):
        return FrameError("text_too_long", detail, readable_id)
    return FrameError("invalid_field", detail, readable_id)
