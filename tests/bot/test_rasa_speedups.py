"""Rasa's action-reply check, sped up: the same replies pass, the same replies fail, with Rasa's error."""

from __future__ import annotations

from unittest import mock

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import rasa_speedups

VALID_REPLY = {
    "events": [{"event": "slot", "name": "handoff_reason", "value": "frustration"}],
    "responses": [{"text": "Our branches are open Monday to Friday 9am to 5pm."}],
}


@pytest.fixture
def action() -> RemoteAction:
    rasa_speedups.install()
    return RemoteAction("action_answer_faq", None)


def test_the_bots_channel_installs_it():
    import channels.masked_rest  # noqa: F401 -- what the server imports at start-up (credentials.yml)

    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result


def test_a_valid_reply_passes_without_checking_the_schema_again(action):
    action._validate_action_result(VALID_REPLY)  # the validator is built (and the schema checked) once
    validator_class = type(rasa_speedups.action_response_validator())
    with mock.patch.object(validator_class, "check_schema", side_effect=AssertionError("checked again")):
        assert action._validate_action_result(VALID_REPLY) is True
        assert action._validate_action_result({"events": [], "responses": []}) is True


@pytest.mark.parametrize(
    "reply",
    [
        {"events": [{"event": "no_such_event"}], "responses": []},
        {"events": [{"event": "slot"}], "responses": []},  # a slot event without its name
        {"events": "not a list"},
        {"responses": ["not an object"]},
    ],
)
def test_an_invalid_reply_fails_with_rasas_own_error(action, reply):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(reply)
