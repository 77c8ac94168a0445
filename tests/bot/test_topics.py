"""New-intent discovery (bot/governance/topics.py) on a small fixture whose right grouping is known: the real
encoder, the real training examples, the real command the portal runs."""

from __future__ import annotations

import io
import json

import pytest
from components.sentence_encoder import SentenceEncoder
from governance.topics import discover, groups, main, training_examples

CRYPTO = [
    "can i buy bitcoin with my account",
    "do you let customers trade crypto",
    "is it possible to purchase cryptocurrency through the app",
    "can i send money to a crypto exchange like coinbase",
]
MORTGAGES = [
    "what are your mortgage rates",
    "can i get a mortgage with you",
    "how much could i borrow for a house",
    "do you offer home loans for first time buyers",
]
STUDENTS = [
    "do you have a student account",
    "is there an account for university students",
    "what do students get if they bank with you",
    "student bank account with an overdraft?",
]
HOURS_SAID_OTHERWISE = [
    "when does the branch shut on saturdays",
    "what time do you close on a weekend",
    "are you open on sunday afternoons",
]
NOISE = ["the weather is nice today", "my dog ate my homework"]
MAX_DISTANCE, MIN_SIZE = 0.6, 3  # the portal's defaults (SWITCHBOARD_TOPIC_MAX_DISTANCE, _MIN_SIZE)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def messages(*texts: str) -> list[dict]:
    return [{"id": 100 + i, "text": t} for i, t in enumerate(texts)]


def test_messages_are_grouped_by_meaning_and_noise_is_left_out(encoder):
    texts = [*NOISE[:1], *CRYPTO, *MORTGAGES, *NOISE[1:], *STUDENTS]
    found = groups(encoder.encode(texts), MAX_DISTANCE, MIN_SIZE)
    assert sorted(sorted(texts[r] for r in rows) for rows in found) == sorted(
        sorted(g) for g in (CRYPTO, MORTGAGES, STUDENTS)
    )


def test_a_topic_names_its_exemplar_and_the_nearest_intent(encoder):
    topics = discover(messages(*CRYPTO, *HOURS_SAID_OTHERWISE), encoder, MAX_DISTANCE, MIN_SIZE, training_examples())
    by_size = {len(t.members): t for t in topics}
    assert set(by_size) == {4, 3}
    assert by_size[4].members == [100, 101, 102, 103] and by_size[4].exemplar in by_size[4].members
    hours = by_size[3]
    assert hours.nearest_intent == "opening_hours" and hours.nearest_intent_similarity > 0.6
    assert by_size[4].nearest_intent_similarity < hours.nearest_intent_similarity  # crypto: something new
    assert 0 < by_size[4].cohesion <= 1


def test_too_few_messages_make_no_topic(encoder):
    assert discover(messages(*CRYPTO[:2]), encoder, MAX_DISTANCE, MIN_SIZE, ([], [])) == []


def test_the_command_reads_and_writes_json():
    out = io.StringIO()
    request = {"messages": messages(*STUDENTS, *NOISE), "max_distance": MAX_DISTANCE, "min_size": MIN_SIZE}
    assert main(io.StringIO(json.dumps(request)), out) == 0
    result = json.loads(out.getvalue())
    assert result["version"] == 1
    assert [t["members"] for t in result["topics"]] == [[100, 101, 102, 103]]
