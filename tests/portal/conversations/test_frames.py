"""The frame shapes: the checker that every test runs over every frame sent does catch a wrong frame."""

from __future__ import annotations

import pytest

from conversations import frames

MESSAGE = {
    "id": 1,
    "conversation_id": "c",
    "sender": "bot",
    "text": "hi",
    "buttons": [{"title": "Yes", "payload": "/affirm"}],
    "agent": None,
    "client_id": None,
    "created_at": "2026-11-22T09:15:02+00:00",
}


def test_a_well_formed_frame_passes() -> None:
    frames.check_server_frame(frames.message_new_frame(MESSAGE), frames.CUSTOMER_SERVER_FRAMES)  # type: ignore[arg-type]


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
        {"type": "message.new", "conversation_id": "c", "message": {**MESSAGE, "buttons": [{"title": "x"}]}},
        {"type": "inbox.snapshot", "handoffs": []},  # an agent frame on the customer socket
        {"type": "error", "code": "oops", "detail": "", "client_id": None},
    ],
)
def test_a_malformed_frame_is_caught(frame: dict) -> None:
    with pytest.raises(frames.FrameShapeError):
        frames.check_server_frame(frame, frames.CUSTOMER_SERVER_FRAMES)
