"""The portal's REST webhook masks full card numbers before Rasa sees the text."""

from __future__ import annotations

from types import SimpleNamespace

from channels.masked_rest import MaskedRestInput


def extract(message):
    return MaskedRestInput()._extract_message(SimpleNamespace(json={"sender": "c1", "message": message}))


def test_keeps_the_rest_webhook_url():
    assert MaskedRestInput.name() == "rest"
    assert MaskedRestInput().url_prefix() == "rest"


def test_masks_a_card_number_to_its_last_four():
    assert extract("my card 4242 4242 4242 4242 was stolen") == "my card ****4242 was stolen"


def test_leaves_other_numbers_and_empty_messages_alone():
    assert extract("account 12345678, sort code 40-11-22") == "account 12345678, sort code 40-11-22"
    assert extract(None) is None
