"""The frame shapes: the check that every test runs over every frame sent does catch a wrong frame, and client
frames are refused with the documented error codes."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from conversations import frames

MESSAGE = {
    "id": 1,
    "conversation_id": "c",
    "seq": 1,
    "sender": "bot",
    "text": "hi",
    "payload": "",
    "buttons": [{"title": "Yes", "payload": "/affirm"}],
    "agent": None,
    "client_id": None,
    "created_at": "2026-11-22T09:15:02+00:00",
}


def test_a_well_formed_frame_passes() -> None:
    wire = frames.frame_json(frames.message_new_frame(MESSAGE))
    assert frames.CUSTOMER_SERVER_FRAMES.validate_json(wire) == frames.message_new_frame(MESSAGE)


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "message.new", "conversation_id": "c"},  # a field missing
        {"type": "message.new", "conversation_id": "c", "message": MESSAGE, "extra": 1},  # a field too many
        {
            "type": "message.new",
            "conversation_id": "c",
            "message": {**MESSAGE, "sender": "robot"},
        },  # not in the Literal
        {"type": "message.new", "conversation_id": "c", "message": {**MESSAGE, "id": "1"}},  # wrong type
        {"type": "message.new", "conversation_id": "c", "message": {k: v for k, v in MESSAGE.items() if k != "seq"}},
        {"type": "message.new", "conversation_id": "c", "message": {**MESSAGE, "buttons": [{"title": "x"}]}},
        {"type": "inbox.snapshot", "handoffs": []},  # an agent frame on the customer socket
        {"type": "error", "code": "oops", "detail": "", "client_id": None},
    ],
)
def test_a_malformed_frame_is_caught(frame: dict) -> None:
    with pytest.raises(ValidationError):
        frames.CUSTOMER_SERVER_FRAMES.validate_python(frame)


def test_a_frame_cannot_be_built_wrong() -> None:
    with pytest.raises(ValidationError):
        frames.error_frame("oops", "not a code")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data,code,client_id",
    [
        ({"type": "mesage.send"}, "unknown_type", None),
        ({"type": "message.send", "text": "no client id"}, "invalid_field", None),
        ({"type": "message.send", "client_id": "c", "text": 5}, "invalid_field", "c"),
        ({"type": "message.send", "client_id": "c", "text": "  "}, "invalid_field", "c"),
        ({"type": "message.send", "client_id": "c", "text": "ok", "payload": ["x"]}, "invalid_field", "c"),
        ({"type": "message.send", "client_id": "c", "text": "ok", "payload": "/" * 2001}, "invalid_field", "c"),
        ({"type": "message.send", "client_id": "c" * 65, "text": "hi"}, "invalid_field", None),
        ({"type": "message.send", "client_id": "c", "text": "x" * 2001}, "text_too_long", "c"),
        ({"type": "messages.sync"}, "invalid_field", None),
        ({"type": "messages.sync", "after_seq": -1}, "invalid_field", None),
        ({"type": "messages.sync", "after_seq": "3"}, "invalid_field", None),
        ({"type": "messages.sync", "after_seq": 2.5}, "invalid_field", None),
        ({"type": "messages.sync", "after_seq": True}, "invalid_field", None),
    ],
)
def test_a_bad_customer_frame_gets_its_error_code(data: dict, code: str, client_id: str | None) -> None:
    with pytest.raises(frames.FrameError) as refused:
        frames.parse_customer_frame(data)
    assert (refused.value.code, refused.value.client_id) == (code, client_id)


@pytest.mark.parametrize(
    "text",
    [
        "/report_fraud",
        '/lost_or_stolen_card{"card_last_four":"4242"}',
        "/restart",
        '/inform{"email": "mallory@example.com"}',
        " /affirm",
        "\x1c/restart",  # Python's strip (Rasa's) drops \x1c; pydantic's does not
        "\u200b/report_fraud",
        "\uff0freport_fraud",
        "\u2215report_fraud",
        "%2Freport_fraud",
        "\\u002freport_fraud",
    ],
)
def test_a_customers_text_that_reads_as_a_bot_command_is_refused(text: str) -> None:
    with pytest.raises(frames.FrameError) as refused:
        frames.parse_customer_frame({"type": "message.send", "client_id": "c", "text": text})
    assert (refused.value.code, refused.value.client_id) == ("invalid_field", "c")
    assert refused.value.detail.startswith("text: reads as a bot command")


def test_an_agent_may_write_a_slash() -> None:
    data = {"type": "message.send", "conversation_id": str(uuid.uuid4()), "client_id": "a", "text": "/ok"}
    assert frames.parse_agent_frame(data).text == "/ok"  # type: ignore[union-attr]


def test_a_customer_message_is_parsed_stripped_with_its_payload() -> None:
    frame = frames.parse_customer_frame({"type": "message.send", "client_id": "c", "text": " Yes ", "x": 1})
    assert frame == frames.CustomerMessageSend(type="message.send", client_id="c", text="Yes", payload="")
    with_payload = {"type": "message.send", "client_id": "c", "text": "Yes", "payload": "/affirm"}
    assert frames.parse_customer_frame(with_payload).payload == "/affirm"  # type: ignore[union-attr]


def test_agent_frames_carry_a_conversation_uuid() -> None:
    cid = uuid.uuid4()
    action = frames.parse_agent_frame({"type": "handoff.claim", "conversation_id": str(cid)})
    assert action == frames.ConversationAction(type="handoff.claim", conversation_id=cid)
    with pytest.raises(frames.FrameError) as refused:
        frames.parse_agent_frame({"type": "message.send", "conversation_id": "42", "client_id": "a", "text": "x"})
    assert (refused.value.code, refused.value.client_id) == ("invalid_field", "a")
    assert "conversation_id" in refused.value.detail
    with pytest.raises(frames.FrameError) as refused:
        frames.parse_customer_frame({"type": "handoff.claim", "conversation_id": str(cid)})
    assert refused.value.code == "unknown_type"  # an agent frame on the customer socket


def test_a_sync_frame_is_parsed_with_its_seq() -> None:
    assert frames.parse_customer_frame({"type": "messages.sync", "after_seq": 0}) == frames.CustomerMessagesSync(
        type="messages.sync", after_seq=0
    )
    conversation_id = uuid.uuid4()
    frame = frames.parse_agent_frame(
        {"type": "messages.sync", "conversation_id": str(conversation_id), "after_seq": 7}
    )
    assert frame == frames.AgentMessagesSync(type="messages.sync", conversation_id=conversation_id, after_seq=7)
    with pytest.raises(frames.FrameError) as refused:
        frames.parse_agent_frame({"type": "messages.sync", "after_seq": 7})  # which conversation?
    assert refused.value.code == "invalid_field"


@pytest.mark.django_db
def test_a_handoff_stored_with_a_version_1_packet_is_still_sent_to_agents() -> None:
    from portal_support import queue_conversation, start_conversation

    from conversations.models import Handoff

    handoff = queue_conversation(start_conversation())
    stored = {key: value for key, value in handoff.context.items() if key != "customer"}
    Handoff.objects.filter(pk=handoff.pk).update(context={**stored, "version": 1})
    view = frames.handoff_view(Handoff.objects.select_related("conversation").get(pk=handoff.pk))
    assert view.context is not None and view.context.version == 1
    wire = frames.frame_json(frames.handoff_updated_frame(view))
    assert frames.AGENT_SERVER_FRAMES.validate_json(wire) == frames.handoff_updated_frame(view)
