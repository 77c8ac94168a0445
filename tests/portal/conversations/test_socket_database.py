"""conversations.socket_database.database_call: the events a call commits go out from the event loop once it
returns, in order; none of a rolled-back transaction; what committed before a failure still goes out."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from portal_support import open_customer_socket, start_conversation

from conversations import events
from conversations.sessions import session_token
from conversations.socket_database import database_call

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = "test.socket-database"


async def _listening() -> tuple[Any, str]:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    return layer, channel


async def _received(layer: Any, channel: str, count: int) -> list[Any]:
    return [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(count)]


def _commit(*numbers: int) -> None:
    with transaction.atomic():
        for n in numbers:
            events.publish_on_commit(GROUP, {"type": "test.event", "n": n})


async def test_committed_events_go_out_in_order_after_the_call_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    layer, channel = await _listening()
    returned = [False]
    sent_after_return = []
    group_send = layer.group_send

    async def recording_send(group: str, message: dict[str, Any]) -> None:
        sent_after_return.append(returned[0])
        await group_send(group, message)

    monkeypatch.setattr(layer, "group_send", recording_send)

    def work() -> str:
        _commit(1, 2)
        _commit(3)
        returned[0] = True
        return "done"

    assert await database_call(work)() == "done"
    assert sent_after_return == [True, True, True]  # none sent from the database thread while it worked
    assert await _received(layer, channel, 3) == [1, 2, 3]


async def test_a_rolled_back_transaction_sends_nothing_and_a_failure_sends_what_committed() -> None:
    layer, channel = await _listening()

    def rolled_back() -> None:
        with transaction.atomic():
            events.publish_on_commit(GROUP, {"type": "test.event", "n": 0})
            raise LookupError("nothing commits")

    with pytest.raises(LookupError):
        await database_call(rolled_back)()

    def fails_after_a_commit() -> None:
        _commit(7)
        raise ValueError("after the commit")

    with pytest.raises(ValueError, match="after the commit"):
        await database_call(fails_after_a_commit)()
    assert await _received(layer, channel, 1) == [7]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.3)


def test_outside_a_socket_call_events_are_sent_at_commit() -> None:
    # The worker's and the views' path: sent by the committing thread itself, as before.
    async def listen_then_commit() -> list[Any]:
        layer, channel = await _listening()
        await asyncio.to_thread(_commit, 5)
        return await _received(layer, channel, 1)

    assert asyncio.run(listen_then_commit()) == [5]


async def test_a_socket_takes_its_events_while_the_database_thread_is_busy() -> None:
    """A socket's events do not wait for the process's one database thread (FrameSocket.dispatch): Channels' own
    dispatch hops there before every frame and event, so a socket's events queued behind other sockets' writes."""
    conversation = await database_sync_to_async(start_conversation)()
    customer = await open_customer_socket(session_token(conversation.pk))
    await customer.receive_json_from()  # the snapshot
    writing, finished = threading.Event(), threading.Event()

    def another_sockets_write() -> None:
        writing.set()
        finished.wait(10)

    busy = asyncio.ensure_future(database_sync_to_async(another_sockets_write)())
    try:
        assert await asyncio.to_thread(writing.wait, 5)
        await get_channel_layer().group_send(
            events.conversation_group(conversation.pk),
            {
                "type": "conversation.status_changed",
                "conversation_id": str(conversation.pk),
                "status": "queued",
                "agent": None,
                "agent_id": None,
            },
        )
        frame = await customer.receive_json_from(timeout=3)
        assert (frame["type"], frame["status"]) == ("conversation.status", "queued")
        assert not busy.done()  # the database thread was still held when the frame arrived
    finally:
        finished.set()
        await busy
    await customer.disconnect()
