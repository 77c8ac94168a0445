"""The bot gateway against a local HTTP server speaking Rasa's API (and httpx's MockTransport for odd answers)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from bot_gateway.client import (
    BotReply,
    BotTurn,
    BotUnavailable,
    BotUnreachable,
    RasaGateway,
    get_gateway,
    turn_in_tracker,
)
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
    turn = get_gateway().send_message(CONVERSATION, "hi", message_id=7)
    assert fake_rasa.requests == [
        (
            "POST",
            "/webhooks/rest/webhook",
            {"sender": str(CONVERSATION), "message": "hi", "metadata": {"switchboard_message_id": 7}},
        )
    ]
    assert turn.replies == [
        BotReply(text="Hello! How can I help?"),
        BotReply(text="Pick one", buttons=[{"title": "Cards", "payload": "/cards"}]),
    ]
    assert turn.handoff is None


def test_a_handoff_custom_message_becomes_a_request_not_a_reply(fake_rasa: Any) -> None:
    fake_rasa.answer = handoff_answer(reason="sensitive_topic", priority="urgent", topic="report_fraud")
    turn = get_gateway().send_message(CONVERSATION, "someone took £250", message_id=7)
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

    gateway_with(handler, token="s3cret").send_message(CONVERSATION, "hi", message_id=7)
    assert seen[0].url.params["token"] == "s3cret"


def test_replace_model_puts_the_file_behind_the_token_and_waits_as_long_as_asked() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_file": "model-b.tar.gz", "model_id": "x"})
        return httpx.Response(204)  # Rasa: loaded

    gateway = gateway_with(handler, token="s3cret")
    gateway.replace_model("/models/model-b.tar.gz", timeout=120)
    put = seen[0]
    assert (put.method, put.url.path, put.url.params["token"]) == ("PUT", "/model", "s3cret")
    assert json.loads(put.content) == {"model_file": "/models/model-b.tar.gz"}
    assert put.extensions["timeout"]["read"] == 120  # loading a model takes longer than a turn
    assert gateway.loaded_model() == "model-b.tar.gz"


def test_a_model_rasa_cannot_load_is_bot_unavailable() -> None:
    # Rasa keeps the model it had and answers 400 ("Agent with name ... could not be loaded").
    gateway = gateway_with(lambda request: httpx.Response(400, json={"status": "failure"}))
    with pytest.raises(BotUnavailable, match="PUT /model: HTTP 400"):
        gateway.replace_model("/models/missing.tar.gz", timeout=5)


def test_connection_refused_is_bot_unreachable(rasa_down: None) -> None:
    with pytest.raises(BotUnreachable):
        get_gateway().send_message(CONVERSATION, "hi", message_id=7)


def test_a_slow_bot_times_out_and_may_have_run_the_turn(fake_rasa: Any, settings: Any) -> None:
    settings.RASA_TIMEOUT_SECONDS = 0.2
    fake_rasa.delay = 1.0
    with pytest.raises(BotUnavailable, match="timed out") as raised:
        get_gateway().send_message(CONVERSATION, "hi", message_id=7)
    assert not isinstance(raised.value, BotUnreachable)  # it got there: sending again could run it twice


@pytest.mark.parametrize("status", [500, 502, 503, 404])
def test_an_error_status_is_bot_unavailable(fake_rasa: Any, status: int) -> None:
    fake_rasa.status = status
    with pytest.raises(BotUnavailable, match=f"HTTP {status}") as raised:
        get_gateway().send_message(CONVERSATION, "hi", message_id=7)
    assert not isinstance(raised.value, BotUnreachable)


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
        gateway.send_message(CONVERSATION, "hi", message_id=7)


def test_a_reply_without_text_or_buttons_is_not_shown() -> None:
    gateway = gateway_with(
        lambda request: httpx.Response(200, json=[{"image": "https://x/y.png"}, {"text": ""}])
    )
    assert gateway.send_message(CONVERSATION, "hi", message_id=7).replies == []


def test_a_turn_is_found_in_the_tracker_by_the_portals_message_id(fake_rasa: Any) -> None:
    fake_rasa.answer = handoff_answer()
    gateway = get_gateway()
    gateway.send_message(CONVERSATION, "first", message_id=7)
    gateway.send_message(CONVERSATION, "second", message_id=8)
    tracker = gateway.fetch_tracker(CONVERSATION)

    turn = turn_in_tracker(tracker, 7)
    assert turn is not None and turn.handoff is not None
    assert [r.text for r in turn.replies] == ["I'm passing you to a colleague who can help with this."]
    assert turn_in_tracker(tracker, 9) is None


def test_a_turn_in_a_real_rasa_trackers_shape() -> None:
    """Events as Rasa 3.6 serialises them (UserUttered.as_dict, BotUttered.as_dict), a turn of text and buttons."""
    tracker = {
        "events": [
            {"event": "action", "name": "action_session_start"},
            {"event": "user", "text": "hi", "metadata": {"switchboard_message_id": 3}, "parse_data": {}},
            {"event": "action", "name": "utter_greet"},
            {
                "event": "bot",
                "text": "Hello!",
                "data": {
                    "elements": None,
                    "quick_replies": None,
                    "buttons": [{"title": "Cards", "payload": "/cards"}],
                    "attachment": None,
                    "image": None,
                    "custom": None,
                },
                "metadata": {"utter_action": "utter_greet"},
            },
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "bye", "metadata": {"switchboard_message_id": 4}},
        ]
    }
    turn = turn_in_tracker(tracker, 3)
    assert turn is not None and turn.handoff is None
    assert turn.replies == [BotReply(text="Hello!", buttons=[{"title": "Cards", "payload": "/cards"}])]
    assert turn_in_tracker(tracker, 4) == BotTurn(replies=[])  # the bot answered that one with nothing
