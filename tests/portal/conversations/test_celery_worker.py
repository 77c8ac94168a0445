"""A real `celery worker` process (the thread pool, as deployed) takes customer messages from a Redis broker to the
bot stand-in and stores the bot's answers (and, on a Redis channel layer, publishes them): each conversation's
messages reach the bot in order and one at a time while the worker runs several tasks at once, and a turn whose
answer timed out is not run twice. Runs only with a Redis broker (the tests' SQLite database is a file the worker
can open too), e.g.:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/switchboard CHANNEL_LAYER_URL=redis://127.0.0.1:6379/1 \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/2 .venv/bin/pytest tests/portal -m celery_worker
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.db import connection
from portal_support import new_client_id, start_conversation

from config.celery_app import app
from conversations import events, services
from conversations.models import UNANSWERED, Delivery, Message

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not django_settings.CELERY_BROKER_URL.startswith("redis://"),
        reason="needs CELERY_BROKER_URL=redis://…",
    ),
]
REPO = Path(__file__).resolve().parents[3]


def database_url_of_this_test_run() -> str:
    """The test database (not the one DATABASE_URL names: pytest-django made a test_… copy) as a URL."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        credentials = quote(db["USER"]) + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
        return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    name = str(db["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        pytest.skip("the worker cannot reach an in-memory SQLite database")
    return f"sqlite:///{os.path.abspath(name)}"


@pytest.fixture
def worker(fake_rasa: Any, settings: Any) -> Iterator[subprocess.Popen]:
    # An instance of its own (its Celery queue, its channel-layer prefix), so no other worker on this broker
    # takes its tasks, including those its tasks queue themselves.
    queue = f"test-{uuid.uuid4().hex[:8]}"
    if settings.CHANNEL_LAYER_URL:
        layers = copy.deepcopy(settings.CHANNEL_LAYERS)
        layers["default"]["CONFIG"]["prefix"] = f"asgi:{queue}"
        settings.CHANNEL_LAYERS = layers
    before = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    env = {
        **os.environ,
        "SWITCHBOARD_INSTANCE": queue,
        "DATABASE_URL": database_url_of_this_test_run(),
        "RASA_URL": fake_rasa.url,
        "RASA_TIMEOUT_SECONDS": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO / "portal"), str(REPO)]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "--pool=threads",
            "--concurrency=4",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            "--hostname",
            f"{queue}@%h",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    app.conf.task_always_eager, app.conf.task_default_queue = before
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until_answered(worker: subprocess.Popen, message_ids: list[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while Message.objects.filter(pk__in=message_ids, delivery__in=UNANSWERED).exists():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited:\n{worker.stdout.read() if worker.stdout else ''}")
        assert time.monotonic() < deadline, f"the worker did not answer within {timeout} s"
        time.sleep(0.2)


def test_a_real_worker_delivers_a_customer_message_to_the_bot(
    worker: subprocess.Popen, fake_rasa: Any
) -> None:
    conversation = start_conversation()
    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.conversation_group(conversation.pk), listener)

    message = services.message_post_customer(
        conversation_id=conversation.pk, client_id=new_client_id(), text="hi"
    )

    wait_until_answered(worker, [message.pk])
    assert Message.objects.get(pk=message.pk).delivery == Delivery.DELIVERED
    assert list(
        Message.objects.filter(conversation=conversation, sender="bot").values_list("text", flat=True)
    ) == ["echo: hi"]
    assert fake_rasa.bot_inputs() == ["hi"]

    if django_settings.CHANNEL_LAYER_URL:  # the worker published on the shared layer
        seen = [async_to_sync(layer.receive)(listener) for _ in range(2)]  # the customer's message, the bot's
        assert [e["message"]["sender"] for e in seen] == ["customer", "bot"]


def test_each_conversations_messages_reach_the_bot_in_order_one_at_a_time(
    worker: subprocess.Popen, fake_rasa: Any
) -> None:
    fake_rasa.delay = 0.3  # slow enough that the customers' messages all wait while the first turns run
    conversations = [start_conversation() for _ in range(3)]
    texts = [f"message {n}" for n in range(4)]
    sent = [
        services.message_post_customer(conversation_id=c.pk, client_id=new_client_id(), text=text).pk
        for text in texts
        for c in conversations
    ]

    wait_until_answered(worker, sent)
    assert fake_rasa.most_in_flight[""] > 1, "the worker never ran two turns at once: the test proves nothing"
    for conversation in conversations:
        sender = str(conversation.pk)
        assert fake_rasa.bot_inputs(sender) == texts  # in order, each once
        assert fake_rasa.most_in_flight[sender] == 1
        assert list(
            Message.objects.filter(conversation=conversation, sender="bot").order_by("id").values_list("text", flat=True)
        ) == [f"echo: {text}" for text in texts]
    assert set(Message.objects.filter(pk__in=sent).values_list("delivery", flat=True)) == {Delivery.DELIVERED}


def test_a_turn_whose_answer_timed_out_is_not_run_twice(worker: subprocess.Popen, fake_rasa: Any) -> None:
    fake_rasa.stall_next = 3.0  # the bot runs the turn; its answer comes after the worker's 1 s read timeout
    conversation = start_conversation()
    message = services.message_post_customer(
        conversation_id=conversation.pk, client_id=new_client_id(), text="hi"
    )

    wait_until_answered(worker, [message.pk])
    message.refresh_from_db()
    assert (message.delivery, message.delivery_attempts) == (Delivery.DELIVERED, 1)
    assert fake_rasa.bot_inputs() == ["hi"]
    assert list(Message.objects.filter(conversation=conversation, sender="bot").values_list("text", flat=True)) == [
        "echo: hi"
    ]
