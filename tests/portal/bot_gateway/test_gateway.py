"""The bot gateway against a local HTTP server speaking Rasa's API (and httpx's MockTransport for odd answers)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from bot_gateway.client import BotReply, BotUnavailable, RasaGateway, get_gateway
from contracts.handoff import HandoffReason, Priority
from portal_support import handoff_answer

CONVERSATION = uuid.UUID("7d1c0e0a-8f7e-4a61-9d7b-0a4b8e2d9c11")


def gateway_with(handler: Any, **kwargs: Any) -> RasaGateway:
    return RasaGateway(
        "http://rasa.test",
        read_timeout=1,
        connect_timeout=1,
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def test_send_message_posts_to_the_rest_channel_and_reads_replies(fake_rasa: Any) -> None:
    fake_rasa.answer = lambda text: [
        {"recipient_id": str(CONVERSATION), "text": "Hello! How can I help?"},
        {
            "recipient_id": str(CONVERSATION),
            "text": "Pick one",
            "buttons": [{"title": "Cards", "payload": "/cards"}],
        },
    ]
    turn = get_gateway().send_message(CONVERSATION, "hi")
    assert fake_rasa.requests == [
        ("POST", "/webhooks/rest/webhook", {"sender": str(CONVERSATION), "message": "hi"})
    ]
    assert turn.replies == [
        BotReply(text="Hello! How can I help?"),
        BotReply(text="Pick one", buttons=[{"title": "Cards", "payload": "/cards"}]),
    ]
    assert turn.handoff is None


def test_a_handoff_custom_message_becomes_a_request_not_a_reply(fake_rasa: Any) -> None:
    fake_rasa.answer = handoff_answer(reason="sensitive_topic", priority="urgent", topic="report_fraud")
    turn = get_gateway().send_message(CONVERSATION, "someone took £250")
    assert [r.text for r in turn.replies] == ["I'm passing you to a colleague who can help with this."]
    assert turn.handoff is not None
    assert (turn.handoff.reason, turn.handoff.priority, turn.handoff.topic) == (
        HandoffReason.SENSITIVE_TOPIC,
        Priority.URGENT,
        "report_fraud",
    )


def test_fetch_tracker_and_restart(fake_rasa: Any) -> None:
    fake_rasa.tracker = {"sender_id": str(CONVERSATION), "slots": {"amount": "£250"}, "events": []}
    gateway = get_gateway()
    assert gateway.fetch_tracker(CONVERSATION)["slots"] == {"amount": "£250"}
    gateway.restart(CONVERSATION)
    assert fake_rasa.requests[-1] == (
        "POST",
        f"/conversations/{CONVERSATION}/tracker/events",
        [{"event": "restart"}],
    )


def test_a_token_is_sent_when_configured(settings: Any) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    gateway_with(handler, token="s3cret").send_message(CONVERSATION, "hi")
    assert seen[0].url.params["token"] == "s3cret"


def test_connection_refused_is_bot_unavailable(rasa_down: None) -> None:
    with pytest.raises(BotUnavailable):
        get_gateway().send_message(CONVERSATION, "hi")


def test_a_slow_bot_times_out(fake_rasa: Any, settings: Any) -> None:
    settings.RASA_TIMEOUT_SECONDS = 0.2
    fake_rasa.delay = 1.0
    with pytest.raises(BotUnavailable, match="timed out"):
        get_gateway().send_message(CONVERSATION, "hi")


@pytest.mark.parametrize("status", [500, 502, 503, 404])
def test_an_error_status_is_bot_unavailable(fake_rasa: Any, status: int) -> None:
    fake_rasa.status = status
    with pytest.raises(BotUnavailable, match=f"HTTP {status}"):
        get_gateway().send_message(CONVERSATION, "hi")


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        b'{"text": "an object, not a list"}',
        b'["a string, not a message"]',
        b'[{"custom": {"handoff": {"reason": "no_such_reason"}}}]',
        b'[{"custom": {"handoff": {"version": 99, "reason": "frustration"}}}]',
    ],
)
def test_a_reply_that_breaks_the_contract_is_bot_unavailable(body: bytes) -> None:
    gateway = gateway_with(lambda request: httpx.Response(200, content=body))
    with pytest.raises(BotUnavailable):
        gateway.send_message(CONVERSATION, "hi")


def test_a_reply_without_text_or_buttons_is_not_shown() -> None:
    gateway = gateway_with(
        lambda request: httpx.Response(200, json=[{"image": "https://x/y.png"}, {"text": ""}])
    )
    assert gateway.send_message(CONVERSATION, "hi").replies == []
