"""The spaCy pipeline the bot's NLU loads: rule-based entities, masked card numbers included."""

from __future__ import annotations

import pytest
from nlp.build_spacy_pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    import spacy

    folder = tmp_path_factory.mktemp("spacy") / "pipeline"
    build_pipeline().to_disk(folder)
    return spacy.load(folder)  # what Rasa's SpacyNLP does with bot/spacy_pipeline


def entities(nlp, text):
    return [(ent.label_, ent.text) for ent in nlp(text).ents]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "there's a payment of £250 on my card ending 4242 I never made",
            [("amount", "£250"), ("card_last_four", "4242"), ("fraud_signal", "never made")],
        ),
        (
            "card ****1234 was charged $1,200.50 on 12/03/2024",
            [("card_last_four", "1234"), ("amount", "$1,200.50"), ("date", "12/03/2024")],
        ),
        (
            "I paid 50 EUR yesterday and 30 pounds on 3rd March",
            [("amount", "50 EUR"), ("date", "yesterday"), ("amount", "30 pounds"), ("date", "3rd March")],
        ),
        ("the reference is TX-4821937", [("transaction_reference", "TX-4821937")]),
        (
            "email jo.smith@example.com or call 07700 900123",
            [("email", "jo.smith@example.com"), ("phone_number", "07700 900123")],
        ),
        ("call +44 7700 900123 last friday", [("phone_number", "+44 7700 900123"), ("date", "last friday")]),
        ("GBP 40 on 2024-03-12", [("amount", "GBP 40"), ("date", "2024-03-12")]),
        ("my card has been cloned", [("fraud_signal", "cloned")]),
        ("I didn't make this payment", [("fraud_signal", "didn't make")]),
        ("I do recognise it", []),
    ],
)
def test_finds_the_bank_entities(nlp, text, expected):
    assert entities(nlp, text) == expected


def test_a_year_is_a_date_not_a_card(nlp):
    assert entities(nlp, "statements since 2019") == [("date", "since 2019")]
