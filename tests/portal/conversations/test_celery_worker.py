"""A real `celery worker` process takes a customer message from a Redis broker to the bot stand-in and stores the
bot's answer (and, on a Redis channel layer, publishes it). Runs only with a Redis broker (the tests' SQLite
database is a file the worker can open too), e.g.:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/switchboard CHANNEL_LAYER_URL=redis://127.0.0.1:6379/1 \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/2 .venv/bin/pytest tests/portal -m celery_worker
"""

from __future__ import annotations

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
from conversations.models import Delivery, Message

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
def worker(fake_rasa: Any) -> Iterator[subprocess.Popen]:
    queue = (
        f"test-{uuid.uuid4().hex[:8]}"  # a queue of its own: no other worker on this broker takes its tasks
    )
    before = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_this_test_run(),
        "RASA_URL": fake_rasa.url,
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
            "--pool=solo",
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

    deadline = time.monotonic() + 60
    while Message.objects.get(pk=message.pk).delivery == Delivery.PENDING:
        if worker.poll() is not None:
            pytest.fail(f"the worker exited:\n{worker.stdout.read() if worker.stdout else ''}")
        assert time.monotonic() < deadline, "the worker did not deliver the message within 60 s"
        time.sleep(0.2)
    assert Message.objects.get(pk=message.pk).delivery == Delivery.DELIVERED
    assert list(
        Message.objects.filter(conversation=conversation, sender="bot").values_list("text", flat=True)
    ) == ["echo: hi"]
    assert fake_rasa.bot_inputs() == ["hi"]

    if django_settings.CHANNEL_LAYER_URL:  # the worker published on the shared layer
        seen = [async_to_sync(layer.receive)(listener) for _ in range(2)]  # the customer's message, the bot's
        assert [e["message"]["sender"] for e in seen] == ["customer", "bot"]
