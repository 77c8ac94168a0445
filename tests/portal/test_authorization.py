"""The authorization matrix of docs/roles.md, cell by cell: every role (and a user with none) × every agent-socket
action, the manager socket and every page, allowed or denied as the table there says. The table is read from the
document, so the document and the portal cannot drift apart: an action in one and not the other fails too."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from portal_support import (
    evaluation,
    make_agent,
    nlu_record,
    queue_conversation,
    receive_until,
    socket_headers,
    start_conversation,
)

from agents.roles import Role
from agents.services import user_set_up
from config.asgi import application
from conversations import transitions
from conversations.models import AuditAction, AuditRecord, Conversation
from oversight.models import Topic, TopicStatus

pytestmark = pytest.mark.django_db(transaction=True)

ROLES_DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
COLUMNS = ["agent", "supervisor", "manager", "admin", "no role"]


def documented_matrix() -> dict[str, dict[str, bool]]:
    """{action: {column: allowed}} from the matrix table of docs/roles.md."""
    matrix = {}
    for line in ROLES_DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 1 + len(COLUMNS) and (match := re.match(r"`([\w.]+)`", cells[0])):
            if set(cells[1:]) <= {"✓", "✗"}:
                matrix[match[1]] = {column: cell == "✓" for column, cell in zip(COLUMNS, cells[1:])}
    return matrix


MATRIX = documented_matrix()


def make_user(column: str) -> User:
    if column == "no role":
        return User.objects.create_user(username="nobody", password="pw-nobody")
    user, _ = user_set_up(username="me", password="pw-me", role=Role(column), display_name="Me")
    return user


# --- the scenarios: each answers "was it allowed?" for the user `me` ---------------------------------------


class Scene:
    def __init__(self, me: User) -> None:
        self.me = me
        self.sam = make_agent("sam", "Sam")
        self.socket: WebsocketCommunicator | None = None
        self.inbox: dict[str, Any] = {}

    async def connect(self) -> bool:
        headers = await database_sync_to_async(socket_headers)(self.me)
        communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
        assert (await communicator.connect())[0]
        first = await communicator.receive_output()
        if first["type"] == "websocket.close":
            assert first["code"] == 4403
            return False
        self.socket, self.inbox = communicator, _json(first)
        return True

    async def send(self, frame: dict[str, Any], until: Callable[[dict], bool]) -> dict[str, Any]:
        """Send a frame; the first answer that `until` matches, or the error frame."""
        assert self.socket is not None
        await self.socket.send_json_to(frame)
        return (await receive_until(self.socket, lambda f: f["type"] == "error" or until(f)))[-1]


def _json(output: dict[str, Any]) -> dict[str, Any]:
    return json.loads(output["text"])


@database_sync_to_async
def queued() -> str:
    return str(queue_conversation(start_conversation()).conversation_id)


@database_sync_to_async
def assigned_to(user: User) -> str:
    conversation = start_conversation()
    queue_conversation(conversation)
    transitions.conversation_claim(conversation_id=conversation.pk, agent=user)
    return str(conversation.pk)


def snapshot_of(conversation_id: str) -> Callable[[dict], bool]:
    return lambda f: f["type"] == "conversation.snapshot" and f["conversation"]["id"] == conversation_id


def handoff_update(conversation_id: str, **fields: Any) -> Callable[[dict], bool]:
    return lambda f: (
        f["type"] == "handoff.updated"
        and f["handoff"]["conversation_id"] == conversation_id
        and all(f["handoff"].get(k) == v for k, v in fields.items())
    )


async def socket_connect(scene: Scene) -> bool:
    return await scene.connect()


async def inbox_others(scene: Scene) -> bool:
    theirs = await assigned_to(scene.sam)
    if not await scene.connect():
        return False
    return theirs in [h["conversation_id"] for h in scene.inbox["handoffs"]]


async def inbox_agents(scene: Scene) -> bool:
    if not await scene.connect():
        return False
    return scene.sam.pk in [a["id"] for a in scene.inbox["agents"]]


def opening(arrange: Callable[[Scene], Awaitable[str]]) -> Callable[[Scene], Awaitable[bool]]:
    async def scenario(scene: Scene) -> bool:
        conversation_id = await arrange(scene)
        if not await scene.connect():
            return False
        frame = {"type": "conversation.open", "conversation_id": conversation_id}
        answer = await scene.send(frame, snapshot_of(conversation_id))
        if answer["type"] == "error":
            assert answer["code"] == "not_allowed"
            return False
        return True

    return scenario


async def _queued(scene: Scene) -> str:
    return await queued()


async def _own(scene: Scene) -> str:
    return await assigned_to(scene.me)


async def _others(scene: Scene) -> str:
    return await assigned_to(scene.sam)


async def _bot(scene: Scene) -> str:
    return str((await database_sync_to_async(start_conversation)()).pk)


async def handoff_updated_others(scene: Scene) -> bool:
    conversation_id = await queued()
    if not await scene.connect():
        return False
    await database_sync_to_async(transitions.conversation_claim)(conversation_id=conversation_id, agent=scene.sam)
    assert scene.socket is not None
    update = (await receive_until(scene.socket, handoff_update(conversation_id, status="assigned")))[-1]
    return update["handoff"]["context"] is not None


async def handoff_claim(scene: Scene) -> bool:
    conversation_id = await queued()
    if not await scene.connect():
        return False
    frame = {"type": "handoff.claim", "conversation_id": conversation_id}
    answer = await scene.send(frame, snapshot_of(conversation_id))
    return answer["type"] != "error"


def acting(
    arrange: Callable[[Scene], Awaitable[str]],
    frame_type: str,
    done: Callable[[str, Scene], Callable[[dict], bool]],
) -> Callable[[Scene], Awaitable[bool]]:
    async def scenario(scene: Scene) -> bool:
        conversation_id = await arrange(scene)
        if not await scene.connect():
            return False
        frame: dict[str, Any] = {"type": frame_type, "conversation_id": conversation_id}
        if frame_type == "message.send":
            frame |= {"client_id": "m1", "text": "Hello"}
        answer = await scene.send(frame, done(conversation_id, scene))
        if answer["type"] == "error":
            assert answer["code"] == "not_allowed", answer
            return False
        return True

    return scenario


def acked(conversation_id: str, scene: Scene) -> Callable[[dict], bool]:
    return lambda f: f["type"] == "message.ack"


def closed_as(status: str) -> Callable[[str, Scene], Callable[[dict], bool]]:
    return lambda conversation_id, scene: handoff_update(conversation_id, status=status)


async def reassign_other(scene: Scene) -> bool:
    conversation_id = await assigned_to(scene.sam)
    kim = await database_sync_to_async(make_agent)("kim", "Kim")
    if not await scene.connect():
        return False
    frame = {"type": "conversation.reassign", "conversation_id": conversation_id, "agent_id": kim.pk}
    given = handoff_update(conversation_id)
    answer = await scene.send(frame, lambda f: given(f) and (f["handoff"]["agent"] or {}).get("id") == kim.pk)
    return answer["type"] != "error"


async def reassign_take_over(scene: Scene) -> bool:
    conversation_id = await assigned_to(scene.sam)
    if not await scene.connect():
        return False
    frame = {"type": "conversation.reassign", "conversation_id": conversation_id, "agent_id": scene.me.pk}
    answer = await scene.send(frame, snapshot_of(conversation_id))
    return answer["type"] != "error"


async def manager_socket_connect(scene: Scene) -> bool:
    headers = await database_sync_to_async(socket_headers)(scene.me)
    scene.socket = WebsocketCommunicator(application, "/ws/manager/", headers=headers)
    assert (await scene.socket.connect())[0]
    await scene.socket.send_json_to({"type": "ping"})
    first = await scene.socket.receive_output()  # a refused socket closed before the ping arrived
    if first["type"] == "websocket.close":
        assert first["code"] == 4403
        return False
    assert _json(first) == {"type": "pong"}
    return True


def page(path: str) -> Callable[[Scene], Awaitable[bool]]:
    @database_sync_to_async
    def scenario(scene: Scene) -> bool:
        client = Client()
        client.force_login(scene.me)
        response = client.get(path)
        assert response.status_code in (200, 302, 403), response.status_code
        return response.status_code == 200

    return scenario  # type: ignore[return-value]


def customer_data(action: str) -> Callable[[Scene], Awaitable[bool]]:
    """POST a confirmed export or erasure of a conversation: allowed when it was done, and so audited."""

    @database_sync_to_async
    def scenario(scene: Scene) -> bool:
        conversation = start_conversation()
        client = Client()
        client.force_login(scene.me)
        response = client.post(
            "/agents/customer-data/", {"conversation": str(conversation.pk), "action": action, "confirm": "yes"}
        )
        assert response.status_code in (200, 302, 403), response.status_code
        audited = AuditRecord.objects.filter(
            action=AuditAction.EXPORTED if action == "export" else AuditAction.ERASED, conversation_id=conversation.pk
        ).exists()
        assert audited == (response.status_code != 403)
        assert Conversation.objects.filter(pk=conversation.pk).exists() == (action == "export" or not audited)
        return audited

    return scenario  # type: ignore[return-value]


@database_sync_to_async
def topics_dismiss(scene: Scene) -> bool:
    """POST the dismissal of an open topic: allowed when it was dismissed (and so its message reviewed)."""
    topic = Topic.objects.create(exemplar_text="can i buy bitcoin", size=1, cohesion=1.0)
    topic.records.set([nlu_record("can i buy bitcoin", intent="nlu_fallback", confidence=0.2)])
    client = Client()
    client.force_login(scene.me)
    response = client.post(f"/agents/manager/oversight/topics/{topic.pk}/dismiss/")
    assert response.status_code in (302, 403), response.status_code
    topic.refresh_from_db()
    assert (topic.status == TopicStatus.DISMISSED) == (response.status_code == 302)
    return topic.status == TopicStatus.DISMISSED


def _candidate() -> Any:
    """The baseline in production and a candidate that passes the gate against it."""
    from tuning import deploy
    from tuning.models import ModelVersion

    baseline = ModelVersion.objects.create(name="model-base", path="/m/model-base.tar.gz", evaluation=evaluation())
    deploy.model_register_baseline(path=Path(baseline.path))
    return ModelVersion.objects.create(name="model-cand", path="/m/model-cand.tar.gz", evaluation=evaluation())


def posting(path: Callable[[Any], str], arrange: Callable[[Scene], Any] = lambda scene: _candidate()):
    """A manager endpoint: allowed when it did the thing (a redirect back), denied with 403."""

    @database_sync_to_async
    def scenario(scene: Scene) -> bool:
        target = arrange(scene)
        client = Client()
        client.force_login(scene.me)
        response = client.post(path(target), {"reason": "authorization matrix"})
        assert response.status_code in (302, 403), response.status_code
        return response.status_code == 302

    return scenario


def _deployed_candidate(scene: Scene) -> Any:
    from tuning import deploy

    candidate = _candidate()
    deploy.model_deploy(model_version=candidate, by=scene.sam, reason="to roll back")
    return candidate


async def version_page(scene: Scene) -> bool:
    candidate = await database_sync_to_async(_candidate)()
    return await page(f"/agents/manager/models/{candidate.pk}/")(scene)


SCENARIOS: dict[str, Callable[[Scene], Awaitable[bool]]] = {
    "socket.connect": socket_connect,
    "inbox.others": inbox_others,
    "inbox.agents": inbox_agents,
    "conversation.open.queued": opening(_queued),
    "conversation.open.own": opening(_own),
    "conversation.open.others": opening(_others),
    "conversation.open.bot": opening(_bot),
    "handoff.updated.others": handoff_updated_others,
    "handoff.claim": handoff_claim,
    "message.send.own": acting(_own, "message.send", acked),
    "message.send.others": acting(_others, "message.send", acked),
    "conversation.resolve.own": acting(_own, "conversation.resolve", closed_as("resolved")),
    "conversation.hand_back.own": acting(_own, "conversation.hand_back", closed_as("bot")),
    "conversation.resolve.others": acting(_others, "conversation.resolve", closed_as("resolved")),
    "conversation.reassign.other": reassign_other,
    "conversation.reassign.take_over": reassign_take_over,
    "page.inbox": page("/agents/"),
    "page.audit": page("/agents/audit/"),
    "page.manager": page("/agents/manager/"),
    "page.oversight": page("/agents/manager/oversight/"),
    "page.oversight.export": page("/agents/manager/oversight/export/intents.csv"),
    "page.oversight.replay": page("/agents/manager/oversight/replay/"),
    "page.topics": page("/agents/manager/oversight/topics/"),
    "topics.dismiss": topics_dismiss,
    "page.models": page("/agents/manager/models/"),
    "page.model_version": version_page,
    "model.deploy": posting(lambda candidate: f"/agents/manager/models/{candidate.pk}/deploy/"),
    "model.rollback": posting(lambda candidate: "/agents/manager/models/rollback/", _deployed_candidate),
    "page.training": page("/agents/manager/training/"),
    "manager_socket.connect": manager_socket_connect,
    "page.admin": page("/admin/"),
    "page.customer_data": page("/agents/customer-data/"),
    "customer_data.export": customer_data("export"),
    "customer_data.erase": customer_data("erase"),
}


def test_every_documented_action_has_a_scenario_and_every_scenario_is_documented() -> None:
    assert len(MATRIX) >= 20
    assert set(MATRIX) == set(SCENARIOS)


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("action", list(MATRIX))
async def test_the_matrix(action: str, column: str, fake_rasa: Any) -> None:
    me = await database_sync_to_async(make_user)(column)
    scene = await database_sync_to_async(Scene)(me)
    try:
        allowed = await SCENARIOS[action](scene)
    finally:
        if scene.socket is not None:
            await scene.socket.disconnect()
    assert allowed == MATRIX[action][column], f"{action} for {column}: {'allowed' if allowed else 'denied'}"
