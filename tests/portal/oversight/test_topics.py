"""New-intent discovery: which messages are grouped, what a decision writes (exact rows), the weekly trend, and
one discovery through the real bot's Python on a fixture whose grouping is known."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml
from django.test import Client
from django.utils import timezone
from portal_support import make_agent, nlu_record

from oversight import selectors, services
from oversight.models import Topic, TopicStatus
from tuning.models import GovernanceRecord, Review, TrainingExample, Verdict

pytestmark = pytest.mark.django_db

CRYPTO = [
    "can i buy bitcoin with my account",
    "do you let customers trade crypto",
    "is it possible to purchase cryptocurrency through the app",
    "can i send money to a crypto exchange like coinbase",
]
STUDENTS = [
    "do you have a student account",
    "is there an account for university students",
    "what do students get if they bank with you",
    "student bank account with an overdraft?",
]


def unsure(text: str, **fields: Any) -> Any:
    return nlu_record(text, **{"intent": "nlu_fallback", "confidence": 0.25, **fields})


class FakeFinder:
    """Groups as told, and remembers what it was asked (the real one is tested at the end and in tests/bot)."""

    def __init__(self, *groups: list[Any]) -> None:
        self.groups, self.requests = groups, []

    def __call__(self, module: str, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request)
        topics = [
            {"members": [r.pk for r in g], "exemplar": g[0].pk, "cohesion": 0.8, "nearest_intent": "open_account",
             "nearest_intent_similarity": 0.55}
            for g in self.groups
        ]
        return {"version": 1, "topics": topics}


def open_topic(records: list[Any]) -> Topic:
    services.topics_discover(finder=FakeFinder(records))
    return Topic.objects.get(status=TopicStatus.OPEN)


def test_discovery_groups_only_the_unreviewed_not_understood_messages_of_the_window() -> None:
    manager = make_agent("mia", "Mia", role="manager")
    fallback = unsure("can i buy bitcoin")
    out_of_scope = unsure("whats the weather", intent="out_of_scope", confidence=0.9)
    low = unsure("erm crypto?", intent="card_declined", confidence=0.5)
    nlu_record("what time do you open", confidence=0.95)  # understood
    unsure("bitcoin please", classified_at=timezone.now() - timedelta(days=40))  # before the window
    reviewed = unsure("dogecoin")
    from tuning.services import record_review

    record_review(records=[reviewed], verdict=Verdict.IGNORED, reviewer=manager)
    finder = FakeFinder([fallback, out_of_scope, low])
    topics = services.topics_discover(finder=finder)
    assert sorted(m["id"] for m in finder.requests[0]["messages"]) == sorted([fallback.pk, out_of_scope.pk, low.pk])
    assert finder.requests[0]["max_distance"] == 0.6 and finder.requests[0]["min_size"] == 3
    assert [(t.size, t.exemplar_text, t.status) for t in topics] == [(3, "can i buy bitcoin", TopicStatus.OPEN)]
    assert set(topics[0].records.values_list("pk", flat=True)) == {fallback.pk, out_of_scope.pk, low.pk}


def test_a_discovery_replaces_the_open_topics_and_keeps_the_decided_ones() -> None:
    manager = make_agent("mia", "Mia", role="manager")
    first = [unsure(t) for t in CRYPTO[:3]]
    dismissed = open_topic(first)
    services.topic_dismiss(topic_id=dismissed.pk, actor=manager)
    students = [unsure(t) for t in STUDENTS[:3]]
    services.topics_discover(finder=FakeFinder(students))
    again = FakeFinder(students, [unsure("x"), unsure("y")])  # a group under the minimum size is no topic
    services.topics_discover(finder=again)
    assert sorted(m["id"] for m in again.requests[0]["messages"]) == sorted(
        [r.pk for r in students] + [m["id"] for m in again.requests[0]["messages"] if m["text"] in ("x", "y")]
    )  # the dismissed topic's messages are not sent again
    assert sorted((t.status, t.size) for t in Topic.objects.all()) == [
        (TopicStatus.DISMISSED, 3),
        (TopicStatus.OPEN, 3),
    ]


def test_adopting_a_topic_relabels_its_messages_into_training_examples() -> None:
    manager = make_agent("mia", "Mia", role="manager")
    records = [unsure(t) for t in CRYPTO[:3]]
    topic = open_topic(records)
    result = services.topic_adopt(topic_id=topic.pk, intent="open_account", actor=manager)
    assert sorted(result.outcomes) == sorted(r.pk for r in records)
    assert sorted(TrainingExample.objects.values_list("text", "intent")) == sorted(
        (t, "open_account") for t in CRYPTO[:3]
    )
    assert set(Review.objects.values_list("verdict", flat=True)) == {Verdict.RELABELLED}
    topic.refresh_from_db()
    assert (topic.status, topic.intent, topic.decided_by) == (TopicStatus.ADOPTED, "open_account", manager)
    assert GovernanceRecord.objects.filter(action="reviewed").count() == 3
    with pytest.raises(services.TopicRefused, match="already adopted"):
        services.topic_adopt(topic_id=topic.pk, intent="open_account", actor=manager)


def test_adopting_as_out_of_scope_and_refusing_an_intent_the_bot_lacks() -> None:
    manager = make_agent("mia", "Mia", role="manager")
    topic = open_topic([unsure(t) for t in CRYPTO[:3]])
    with pytest.raises(services.TopicRefused, match="one of the bot's intents"):
        services.topic_adopt(topic_id=topic.pk, intent="crypto_question", actor=manager)
    assert Review.objects.count() == 0 and Topic.objects.get().status == TopicStatus.OPEN
    services.topic_adopt(topic_id=topic.pk, intent="out_of_scope", actor=manager)
    assert set(Review.objects.values_list("verdict", "intent")) == {(Verdict.OUT_OF_SCOPE, "out_of_scope")}


def test_a_new_intents_training_data_leaves_held_out_messages_out() -> None:
    manager = make_agent("mia", "Mia", role="manager")
    held_out = "what time do u open on sat"  # a message of bot/tests/heldout_triage_3.csv
    topic = open_topic([unsure(CRYPTO[0]), unsure(CRYPTO[1]), unsure(held_out)])
    document = yaml.safe_load(services.topic_new_intent_yaml(topic_id=topic.pk, intent="crypto_question", actor=manager))
    assert document["nlu"] == [
        {"intent": "crypto_question", "examples": "".join(f"- {t}\n" for t in sorted(CRYPTO[:2]))}
    ]
    assert GovernanceRecord.objects.get(action="examples_exported").detail == {
        "via": "topic", "topic_id": topic.pk, "intent": "crypto_question", "count": 2
    }
    for name, refusal in (("open_account", "already"), ("Crypto Question", "lower case")):
        with pytest.raises(services.TopicRefused, match=refusal):
            services.topic_new_intent_yaml(topic_id=topic.pk, intent=name, actor=manager)


def test_the_listing_counts_each_topics_messages_by_week() -> None:
    now = timezone.now()
    records = [unsure(f"crypto {days}", classified_at=now - timedelta(days=days)) for days in (1, 8, 9, 22)]
    open_topic(records)
    [view] = selectors.topics_listing(now=now, status=TopicStatus.OPEN)
    assert view.trend == [1, 0, 2, 1]  # 3 weeks ago, 2, 1, this week
    assert view.examples[0] == "crypto 1" and len(view.examples) == 4


def test_the_page_and_a_decision_through_it() -> None:
    manager = make_agent("mia", "Mia", role="manager")
    topic = open_topic([unsure(t) for t in STUDENTS[:3]])
    client = Client()
    client.force_login(manager)
    page = client.get("/agents/manager/oversight/topics/")
    assert page.status_code == 200 and STUDENTS[0] in page.content.decode()
    response = client.post(f"/agents/manager/oversight/topics/{topic.pk}/adopt/", {"intent": "open_account"})
    assert response.status_code == 302
    assert Topic.objects.get().status == TopicStatus.ADOPTED
    download = client.post(f"/agents/manager/oversight/topics/{topic.pk}/new-intent.yml", {"name": "student_account"})
    assert download.status_code == 200 and "student_account" in download.content.decode()


def test_discovery_through_the_bots_own_python_groups_by_meaning() -> None:
    """The real part: bot/governance/topics.py in the bot's Python, with the bot's encoder."""
    crypto = [unsure(t) for t in CRYPTO]
    students = [unsure(t) for t in STUDENTS]
    unsure("the weather is nice today")
    topics = services.topics_discover()
    assert sorted(sorted(t.records.values_list("pk", flat=True)) for t in topics) == sorted(
        [sorted(r.pk for r in crypto), sorted(r.pk for r in students)]
    )
    assert all(t.exemplar_text in CRYPTO + STUDENTS and 0 < t.cohesion <= 1 for t in topics)
