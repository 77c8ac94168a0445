"""Build the bot's spaCy pipeline: a blank English pipeline whose entity_ruler finds the entities the bot uses.

No pretrained spaCy model can be downloaded here, so the pipeline is built from rules, one command:

    bot/.venv/bin/python bot/nlp/build_spacy_pipeline.py --output bot/spacy_pipeline

bot/config.yml loads the result (SpacyNLP `model: "spacy_pipeline"`, relative to bot/ where Rasa runs).
Entity labels: amount (with its currency), date, card_last_four, transaction_reference, email, phone_number,
and fraud_signal (words that mean fraud, e.g. "cloned", "never made": they send a routine topic to a person).
Card numbers reach the bot masked as "****1234" (contracts.redaction); the tokenizer splits the stars from the
digits, so the card_last_four value is the four digits alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import spacy

Pattern = dict[str, Any]

NUMBER = r"^\d[\d,]*(\.\d{1,2})?k?$"
CURRENCY_SYMBOLS = ["£", "$", "€"]
CURRENCY_WORDS = [
    "gbp",
    "usd",
    "eur",
    "pound",
    "pounds",
    "quid",
    "dollar",
    "dollars",
    "euro",
    "euros",
    "pence",
    "p",
]
CURRENCY_CODES_BEFORE = ["gbp", "usd", "eur"]

MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DAY_OF_MONTH = r"^\d{1,2}(st|nd|rd|th)?$"
YEAR = r"^(19|20)\d{2}$"
NUMERIC_DATE = r"^(\d{1,2}[/.-]\d{1,2}([/.-]\d{2,4})?|\d{4}-\d{2}-\d{2})$"


def amount_patterns() -> list[Pattern]:
    """£250, $1,200.50, € 40, 250 pounds, 30 GBP, GBP 30."""
    number = {"TEXT": {"REGEX": NUMBER}}
    return [
        {"label": "amount", "pattern": [{"TEXT": {"IN": CURRENCY_SYMBOLS}}, number]},
        {"label": "amount", "pattern": [number, {"LOWER": {"IN": CURRENCY_WORDS}}]},
        {"label": "amount", "pattern": [{"LOWER": {"IN": CURRENCY_CODES_BEFORE}}, number]},
    ]


def date_patterns() -> list[Pattern]:
    """12/03/2024, 2024-03-12, 3rd March (2024), March 3rd, today, yesterday, last Friday, in 2023."""
    day = {"TEXT": {"REGEX": DAY_OF_MONTH}}
    month = {"LOWER": {"IN": MONTHS}}
    optional_year = {"TEXT": {"REGEX": YEAR}, "OP": "?"}
    relative = {"LOWER": {"IN": ["last", "this", "next"]}}
    return [
        {"label": "date", "pattern": [{"TEXT": {"REGEX": NUMERIC_DATE}}]},
        # The tokenizer splits dashed dates ("2024-03-12", "12-03-2024") into number, "-", number...
        {
            "label": "date",
            "pattern": [
                {"TEXT": {"REGEX": r"^\d{1,4}$"}},
                {"TEXT": "-"},
                {"TEXT": {"REGEX": r"^\d{1,2}$"}},
                {"TEXT": "-"},
                {"TEXT": {"REGEX": r"^\d{2,4}$"}},
            ],
        },
        {"label": "date", "pattern": [day, {"LOWER": "of", "OP": "?"}, month, optional_year]},
        {"label": "date", "pattern": [month, day, optional_year]},
        {"label": "date", "pattern": [month, {"TEXT": {"REGEX": YEAR}}]},
        {"label": "date", "pattern": [{"LOWER": {"IN": ["today", "yesterday", "tomorrow", "tonight"]}}]},
        {
            "label": "date",
            "pattern": [{"LOWER": "the"}, {"LOWER": "day"}, {"LOWER": "before"}, {"LOWER": "yesterday"}],
        },
        {"label": "date", "pattern": [relative, {"LOWER": {"IN": WEEKDAYS + ["week", "month", "weekend"]}}]},
        {"label": "date", "pattern": [{"LOWER": {"IN": WEEKDAYS}}]},
        # "in 2023" is a date, not the last four digits of a card.
        {
            "label": "date",
            "pattern": [{"LOWER": {"IN": ["in", "since", "during"]}}, {"TEXT": {"REGEX": YEAR}}],
        },
    ]


def card_last_four_patterns() -> list[Pattern]:
    """A lone four-digit token: "ending 4242", "****4242". Longer matches (amounts, phones, dates) win."""
    return [{"label": "card_last_four", "pattern": [{"TEXT": {"REGEX": r"^\d{4}$"}}]}]


def transaction_reference_patterns() -> list[Pattern]:
    """TX-4821937, REF0091832, NB12345678: letters then five or more digits."""
    return [
        {"label": "transaction_reference", "pattern": [{"TEXT": {"REGEX": r"^[A-Za-z]{2,4}-?\d{5,12}$"}}]}
    ]


def email_patterns() -> list[Pattern]:
    return [{"label": "email", "pattern": [{"LIKE_EMAIL": True}]}]


def phone_number_patterns() -> list[Pattern]:
    """07700900123, +447700900123, 07700 900123, +44 7700 900123, 020 7946 0000."""
    group = {"TEXT": {"REGEX": r"^\d{3,6}$"}}
    return [
        {"label": "phone_number", "pattern": [{"TEXT": {"REGEX": r"^(\+\d{1,3}|0)\d{9,11}$"}}]},
        {
            "label": "phone_number",
            "pattern": [{"TEXT": {"REGEX": r"^(\+\d{1,3}|0\d{2,4})$"}}, group, {**group, "OP": "?"}],
        },
    ]


FRAUD_WORDS = [
    "cloned",
    "cloning",
    "skimmed",
    "scam",
    "scammed",
    "scammer",
    "fraud",
    "fraudulent",
    "fraudster",
    "hacked",
    "phishing",
    "unauthorised",
    "unauthorized",
]


def fraud_signal_patterns() -> list[Pattern]:
    """ "my card has been cloned", "a payment I never made", "I didn't authorise it"."""
    act = {
        "LOWER": {
            "IN": [
                "made",
                "make",
                "authorised",
                "authorized",
                "authorise",
                "authorize",
                "recognise",
                "recognize",
            ]
        }
    }
    return [
        {"label": "fraud_signal", "pattern": [{"LOWER": {"IN": FRAUD_WORDS}}]},
        {"label": "fraud_signal", "pattern": [{"LOWER": {"IN": ["never", "not"]}}, act]},
        # the tokenizer splits "didn't" into "did" + "n't"
        {
            "label": "fraud_signal",
            "pattern": [{"LOWER": {"IN": ["did", "do"]}}, {"LOWER": {"IN": ["not", "n't"]}}, act],
        },
        {"label": "fraud_signal", "pattern": [{"LOWER": {"IN": ["didnt", "dont"]}}, act]},
    ]


def entity_patterns() -> list[Pattern]:
    return [
        *amount_patterns(),
        *date_patterns(),
        *card_last_four_patterns(),
        *transaction_reference_patterns(),
        *email_patterns(),
        *phone_number_patterns(),
        *fraud_signal_patterns(),
    ]


def build_pipeline() -> spacy.language.Language:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    ruler.add_patterns(entity_patterns())
    nlp.meta["name"] = "switchboard_bank_entities"
    nlp.meta["description"] = "Blank English tokenizer with rule-based bank-support entities (Switchboard)."
    return nlp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="folder to write the pipeline to")
    args = parser.parse_args()
    build_pipeline().to_disk(args.output)
    print(f"spaCy pipeline written to {args.output}")


if __name__ == "__main__":
    main()
