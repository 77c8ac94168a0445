"""The managers' socket (/ws/manager/): the latest training on connect, every change as it commits, ping, and the
access read again on every frame and on every change of the user's access."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from portal_support import make_agent, socket_headers

from agents.roles import GROUP_NAMES, Role
from config.asgi import application
from tuning import services

pytestmark = pytest.mark.django_db(transaction=True)


async def connected(user: Any) -> WebsocketCommunicator:
    headers = await database_sync_to_async(socket_headers)(user)
    socket = WebsocketCommunicator(application, "/ws/manager/", headers=headers)
    assert (await socket.connect())[0]
    return socket


@pytest.fixture
def no_training_task(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    queued: list[int] = []
    monkeypatch.setattr(services, "_queue_training", queued.append)
    return queued


async def test_a_manager_hears_the_latest_training_then_every_change(no_training_task: list[int]) -> None:
    mia = await database_sync_to_async(make_agent)("mia", "Mia", "manager")
    first = await database_sync_to_async(services.training_request)(by=mia)
    socket = await connected(mia)
    assert await socket.receive_json_from() == {
        "type": "training.updated",
        "id": first.pk,
        "status": "queued",
        "stage": "",
        "progress": 0.0,
        "error": "",
        "log_tail": "",
    }
    await database_sync_to_async(services.training_start)(training_id=first.pk)
    assert (await socket.receive_json_from())["status"] == "running"
    await database_sync_to_async(services.training_progress)(training_id=first.pk, stage="training", progress=0.3)
    update = await socket.receive_json_from()
    assert (update["id"], update["stage"], update["progress"]) == (first.pk, "training", 0.3)
    await database_sync_to_async(services.training_fail)(training_id=first.pk, error="boom", log_tail="a\nb")
    assert await socket.receive_json_from() == {
        "type": "training.updated",
        "id": first.pk,
        "status": "failed",
        "stage": "training",
        "progress": 0.3,
        "error": "boom",
        "log_tail": "a\nb",
    }
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from() == {"type": "pong"}
    await socket.send_json_to({"type": "training.start"})
    error = await socket.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "unknown_type")
    await socket.disconnect()
    assert no_training_task == [first.pk]


async def test_no_training_yet_sends_nothing_until_one_is_asked_for(no_training_task: list[int]) -> None:
    mia = await database_sync_to_async(make_agent)("mia", "Mia", "manager")
    socket = await connected(mia)
    assert await socket.receive_nothing(timeout=0.3)
    training = await database_sync_to_async(services.training_request)(by=mia)
    assert (await socket.receive_json_from())["id"] == training.pk
    await socket.disconnect()


@pytest.mark.parametrize("role", ["agent", "supervisor", None])
async def test_others_are_refused_at_connect(role: str | None) -> None:
    def user() -> Any:
        if role is None:
            from django.contrib.auth.models import User

            return User.objects.create_user(username="nobody", password="pw")
        return make_agent("sam", "Sam", role)

    socket = await connected(await database_sync_to_async(user)())
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4403}
    await socket.disconnect()


async def test_an_anonymous_socket_is_refused() -> None:
    socket = WebsocketCommunicator(application, "/ws/manager/", headers=[(b"origin", b"http://localhost")])
    assert (await socket.connect())[0]
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4403}


async def test_a_manager_who_loses_the_role_is_closed(no_training_task: list[int]) -> None:
    mia = await database_sync_to_async(make_agent)("mia", "Mia", "manager")
    socket = await connected(mia)

    @database_sync_to_async
    def demote() -> None:
        mia.groups.remove(Group.objects.get(name=GROUP_NAMES[Role.MANAGER]))

    await demote()  # the change's event closes the socket at once
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4403}
    await socket.disconnect()


async def test_every_frame_reads_the_access_again(no_training_task: list[int]) -> None:
    """Even with no event (a change made behind the signals' back), the next frame finds the role gone."""
    mia = await database_sync_to_async(make_agent)("mia", "Mia", "manager")
    socket = await connected(mia)
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from() == {"type": "pong"}

    @database_sync_to_async
    def deactivate_quietly() -> None:
        type(mia).objects.filter(pk=mia.pk).update(is_active=False)  # update() sends no signal

    await deactivate_quietly()
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4403}
    await socket.disconnect()
