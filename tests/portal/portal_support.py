"""Helpers of the portal's tests (fixtures are in conftest.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def handoff_answer(
    reason: str = "sensitive_topic", priority: str = "urgent", topic: str = "report_fraud"
) -> Callable[[str], list[dict[str, Any]]]:
    """A REST-channel answer that asks for a person, as the bot's action_handoff sends it."""
    from contracts.handoff import HandoffReason, HandoffRequest, Priority, handoff_payload

    request = HandoffRequest(
        reason=HandoffReason(reason), priority=Priority(priority), topic=topic, note="card blocked: no"
    )
    return lambda text: [
        {"recipient_id": "x", "text": "I'm passing you to a colleague who can help with this."},
        {"recipient_id": "x", "custom": handoff_payload(request)},
    ]


def make_agent(username: str, display_name: str, role: str = "agent") -> Any:
    """A user in the group of `role` (agents/roles.py), with a profile."""
    from django.contrib.auth.models import Group, User

    from agents.models import AgentProfile
    from agents.roles import GROUP_NAMES, Role

    user = User.objects.create_user(username=username, password="pw-" + username)
    user.groups.add(Group.objects.get(name=GROUP_NAMES[Role(role)]))
    AgentProfile.objects.create(user=user, display_name=display_name)
    return user


def socket_headers(user: Any | None, origin: str = "http://localhost") -> list[tuple[bytes, bytes]]:
    """Headers of a browser socket: our origin, and the session cookie of `user` logged in (None: no cookie)."""
    from django.test import Client

    headers = [(b"origin", origin.encode())]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


async def open_customer_socket(token: str) -> Any:
    """The customer socket as the widget opens it: connected, then its token in the first frame (`auth`)."""
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    communicator = WebsocketCommunicator(application, "/ws/customer/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "auth", "token": token})
    return communicator


def start_conversation() -> Any:
    from conversations import services

    return services.conversation_start()


def store_message(conversation_id: Any, **fields: Any) -> Any:
    """A message stored and numbered as the services store one, without their events or delivery task: a state
    for a test to start from (e.g. a customer message still pending for the bot)."""
    from django.db import transaction

    from conversations import services
    from conversations.models import Conversation

    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        message = services._append(conversation, **fields)
        services._save_seq(conversation)
    return message


def nlu_record(
    text: str, intent: str = "opening_hours", confidence: float = 0.9, classified_at: Any = None
) -> Any:
    """The bot's reading of a new customer message (its own conversation), as the NLU stream's ingest stores it."""
    from django.utils import timezone

    from tuning.models import NluRecord

    message = store_message(start_conversation().pk, sender="customer", text=text)
    return NluRecord.objects.create(
        message=message,
        text=text,
        intent=intent,
        confidence=confidence,
        ranking=[{"name": intent, "confidence": confidence}],
        classified_at=classified_at or timezone.now(),
    )


def queue_conversation(conversation: Any, reason: str = "explicit_request", priority: str = "normal") -> Any:
    """Put a conversation with the bot into the queue the way the portal does (a context packet, a transition)."""
    from contracts.handoff import HandoffReason, HandoffRequest, Priority
    from conversations.delivery import queue_for_person

    request = HandoffRequest(reason=HandoffReason(reason), priority=Priority(priority))
    return queue_for_person(conversation, request, tracker=None, message_id=None)


def new_client_id() -> str:
    return str(uuid.uuid4())


async def receive_until(
    communicator: Any, matches: Callable[[dict], bool], timeout: float = 5.0
) -> list[dict]:
    """Frames received up to and including the first that `matches` (order between sources is not promised)."""
    received = []
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        received.append(frame)
        if matches(frame):
            return received


async def receive_all(communicator: Any, *wanted: Callable[[dict], bool], timeout: float = 5.0) -> list[dict]:
    """Frames received until each of `wanted` has matched one, in whatever order they come."""
    received: list[dict] = []
    while not all(any(matches(f) for f in received) for matches in wanted):
        received.append(await communicator.receive_json_from(timeout=timeout))
    return received


def is_type(kind: str, **fields: Any) -> Callable[[dict], bool]:
    return lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items())


def is_message(sender: str, text: str | None = None) -> Callable[[dict], bool]:
    def matches(frame: dict) -> bool:
        message = frame.get("message") or {}
        return (
            frame.get("type") == "message.new"
            and message.get("sender") == sender
            and (text is None or message.get("text") == text)
        )

    return matches


# Transaction control differs between backends (SQLite logs its BEGIN, PostgreSQL's is implicit) and is not work.
_TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b", re.IGNORECASE)


@contextmanager
def queries_counted() -> Iterator[list[str]]:
    """The SQL statements run meanwhile, from every thread (a socket's database thread too), less transaction
    control; the list fills as they run."""
    from django.db.backends.utils import CursorWrapper

    statements: list[str] = []
    original = CursorWrapper._execute_with_wrappers

    def counted(self: Any, sql: str, params: Any, many: bool, executor: Any) -> Any:
        if not _TRANSACTION_CONTROL.match(sql):
            statements.append(sql)
        return original(self, sql, params, many, executor)

    CursorWrapper._execute_with_wrappers = counted  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        CursorWrapper._execute_with_wrappers = original  # type: ignore[method-assign]


@contextmanager
def assert_query_count(expected: int) -> Iterator[None]:
    """Zulip's assert_database_query_count: exactly `expected` statements, else fail listing what ran."""
    with queries_counted() as statements:
        yield
    listing = "\n".join(f"  {i}. {sql}" for i, sql in enumerate(statements, 1))
    assert len(statements) == expected, f"{len(statements)} queries, expected {expected}:\n{listing}"


# --- a model's evaluation, as the bot's governance.candidate writes it -----------------------------------


def evaluation(
    right: int = 156,
    total: int = 160,
    escalated: tuple[int, int] = (61, 61),
    triage: tuple[int, int] = (110, 116),
    stories_failed: tuple[str, ...] = (),
    predictions: list[tuple[str, str, str, float]] | None = None,
) -> dict[str, Any]:
    """A version-1 evaluation: `right` of `total` held-out messages read as balance, the rest fell back."""
    missed = [f"escalation {n}" for n in range(escalated[1] - escalated[0])]
    return {
        "version": 1,
        "heldout": {
            "total": total,
            "accuracy": right / total,
            "macro_f1": 0.5,
            "labels": ["balance", "nlu_fallback"],
            "per_intent": {
                "balance": {"precision": 1.0, "recall": right / total, "f1": 0.9, "support": total},
                "nlu_fallback": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
            },
            "confusion": [[right, total - right], [0, 0]],
        },
        "must_escalate": {
            "total": escalated[1],
            "reached": escalated[0],
            "recall": escalated[0] / escalated[1],
            "missed": missed,
        },
        "triage": {
            "total": triage[1],
            "reached": triage[0],
            "recall": triage[0] / triage[1],
            "needless": 0,
            "routine_total": 157,
        },
        "stories": {"total": 15, "passed": 15 - len(stories_failed), "failed": list(stories_failed)},
        "predictions": [
            {"text": t, "expected": e, "predicted": p, "confidence": c} for t, e, p, c in predictions or []
        ],
    }
