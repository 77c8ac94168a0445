"""Access is checked on every action, not only at connect: a logout, a deactivation, a role taken away (from the
user or from their group) closes the user's open agent sockets at once, with no frame from the client needed; a
change made behind the signals' back is still caught by the next frame; a role that changes but still reaches the
socket makes it reconnect (4409); events carry the context packet only to those who may read it."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from portal_support import is_type, queue_conversation, receive_all, receive_until, start_conversation

from agents.roles import GROUP_NAMES, Role
from config.asgi import application
from conversations import transitions
from handoff.consumers import CLOSE_ACCESS_CHANGED, CLOSE_NOT_AN_AGENT

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(user: Any) -> tuple[WebsocketCommunicator, Client]:
    """An agent socket on the login session of a browser (the returned client), its inbox read."""

    def log_in() -> Client:
        client = Client()
        client.force_login(user)
        return client

    client = await database_sync_to_async(log_in)()
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"origin", b"http://localhost"), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from())["type"] == "inbox.snapshot"
    return communicator, client


async def closed_with(communicator: WebsocketCommunicator, code: int) -> None:
    assert await communicator.receive_output(timeout=2) == {"type": "websocket.close", "code": code}


def deactivate(user: User) -> None:
    user.is_active = False
    user.save()


async def test_logging_out_closes_the_users_sockets_at_once(alex: Any) -> None:
    first, browser = await open_socket(alex)
    second, _ = await open_socket(alex)  # another tab, another session: every socket of the user closes
    await database_sync_to_async(browser.post)("/accounts/logout/")
    await closed_with(first, CLOSE_NOT_AN_AGENT)
    await closed_with(second, CLOSE_NOT_AN_AGENT)


async def test_deactivating_the_user_closes_their_socket_at_once(alex: Any, sam: Any) -> None:
    socket, _ = await open_socket(alex)
    others, _ = await open_socket(sam)
    await database_sync_to_async(deactivate)(alex)
    await closed_with(socket, CLOSE_NOT_AN_AGENT)
    await others.send_json_to({"type": "ping"})  # another user's socket is untouched
    assert (await others.receive_json_from())["type"] == "pong"
    await others.disconnect()


@pytest.mark.parametrize("how", ["user.groups.remove", "group.user_set.remove", "user.groups.clear"])
async def test_taking_the_role_away_closes_the_socket_at_once(alex: Any, how: str) -> None:
    socket, _ = await open_socket(alex)

    def take_away() -> None:
        group = Group.objects.get(name=GROUP_NAMES[Role.AGENT])
        {
            "user.groups.remove": lambda: alex.groups.remove(group),
            "group.user_set.remove": lambda: group.user_set.remove(alex),
            "user.groups.clear": lambda: alex.groups.clear(),
        }[how]()

    await database_sync_to_async(take_away)()
    await closed_with(socket, CLOSE_NOT_AN_AGENT)


async def test_taking_the_permission_from_the_group_closes_its_members_sockets(alex: Any) -> None:
    socket, _ = await open_socket(alex)

    def strip_group() -> None:
        group = Group.objects.get(name=GROUP_NAMES[Role.AGENT])
        group.permissions.remove(Permission.objects.get(codename="handle_conversations"))

    await database_sync_to_async(strip_group)()
    await closed_with(socket, CLOSE_NOT_AN_AGENT)


async def test_a_change_behind_the_signals_back_is_caught_by_the_next_frame(alex: Any) -> None:
    socket, _ = await open_socket(alex)
    # a queryset update sends no signal: only the check on each frame sees it
    await database_sync_to_async(User.objects.filter(pk=alex.pk).update)(is_active=False)
    await socket.send_json_to({"type": "ping"})
    await closed_with(socket, CLOSE_NOT_AN_AGENT)


async def test_a_save_that_changes_no_access_leaves_the_socket_open(alex: Any) -> None:
    socket, _ = await open_socket(alex)

    def rename() -> None:
        alex.first_name = "Alexandra"
        alex.save()

    await database_sync_to_async(rename)()
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from())["type"] == "pong"
    await socket.disconnect()


async def test_a_supervisor_made_an_agent_is_made_to_reconnect(sue: Any) -> None:
    socket, _ = await open_socket(sue)

    def demote() -> None:
        sue.groups.set([Group.objects.get(name=GROUP_NAMES[Role.AGENT])])

    await database_sync_to_async(demote)()
    await closed_with(socket, CLOSE_ACCESS_CHANGED)


async def test_an_agent_whose_open_conversation_goes_to_someone_else_stops_hearing_it(
    alex: Any, sam: Any, sue: Any
) -> None:
    conversation = await database_sync_to_async(lambda: queue_conversation(start_conversation()).conversation)()
    cid = str(conversation.pk)
    socket, _ = await open_socket(alex)
    await socket.send_json_to({"type": "conversation.open", "conversation_id": cid})
    await receive_until(socket, lambda f: f["type"] == "conversation.snapshot")
    watching, _ = await open_socket(sue)
    await watching.send_json_to({"type": "conversation.open", "conversation_id": cid})
    await receive_until(watching, lambda f: f["type"] == "conversation.snapshot")

    await database_sync_to_async(transitions.conversation_claim)(conversation_id=conversation.pk, agent=sam)
    frames = await receive_all(socket, is_type("handoff.updated"), is_type("conversation.status"))
    update = next(f for f in frames if f["type"] == "handoff.updated")
    assert update["handoff"]["agent"]["id"] == sam.pk and update["handoff"]["context"] is None
    supervisor_update = (await receive_until(watching, lambda f: f["type"] == "handoff.updated"))[-1]
    assert supervisor_update["handoff"]["context"] is not None

    from conversations import services

    await database_sync_to_async(services.message_post_agent)(
        conversation_id=conversation.pk, agent=sam, client_id="s1", text="Hi, Sam here"
    )
    await receive_until(watching, lambda f: f["type"] == "message.new" and f["message"]["text"] == "Hi, Sam here")
    # Alex's socket left the conversation's group: Sam's message never reaches it
    await socket.send_json_to({"type": "ping"})
    rest = await receive_until(socket, lambda f: f["type"] == "pong")
    assert [f for f in rest if f["type"] == "message.new" and f["message"]["text"] == "Hi, Sam here"] == []
    for communicator in (socket, watching):
        await communicator.disconnect()


async def test_a_supervisor_reassigns_and_the_new_agent_can_work_it(alex: Any, sam: Any, sue: Any) -> None:
    conversation = await database_sync_to_async(lambda: queue_conversation(start_conversation()).conversation)()
    cid = str(conversation.pk)
    await database_sync_to_async(transitions.conversation_claim)(conversation_id=conversation.pk, agent=sam)
    supervisor, _ = await open_socket(sue)
    agent, _ = await open_socket(alex)
    await supervisor.send_json_to({"type": "conversation.reassign", "conversation_id": cid, "agent_id": alex.pk})
    update = (await receive_until(agent, lambda f: f["type"] == "handoff.updated"))[-1]
    assert update["handoff"]["agent"] == {"id": alex.pk, "display_name": "Alex"}
    assert update["handoff"]["context"] is not None  # now Alex's: readable
    await agent.send_json_to({"type": "message.send", "conversation_id": cid, "client_id": "a1", "text": "Hello"})
    answer = (await receive_until(agent, lambda f: f["type"] in ("message.ack", "error")))[-1]
    assert answer["type"] == "message.ack"
    # a second reassignment to the agent who has it changes nothing
    await supervisor.send_json_to({"type": "conversation.reassign", "conversation_id": cid, "agent_id": alex.pk})
    error = (await receive_until(supervisor, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "not_allowed"
    for communicator in (supervisor, agent):
        await communicator.disconnect()


async def test_a_conversation_cannot_be_given_to_someone_who_may_not_take_it(sue: Any, mona: Any) -> None:
    conversation = await database_sync_to_async(lambda: queue_conversation(start_conversation()).conversation)()
    supervisor, _ = await open_socket(sue)
    for agent_id in (mona.pk, 999_999):  # a manager; no such user
        frame = {"type": "conversation.reassign", "conversation_id": str(conversation.pk), "agent_id": agent_id}
        await supervisor.send_json_to(frame)
        error = (await receive_until(supervisor, lambda f: f["type"] == "error"))[-1]
        assert error["code"] == "not_allowed"
    await supervisor.disconnect()

