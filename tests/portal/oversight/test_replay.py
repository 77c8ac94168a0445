"""Threshold replay on readings whose meaning people confirmed, with exact figures; and its page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from history_support import DAY, at, conversation, handoff, message
from portal_support import make_agent

from oversight import selectors
from oversight.selectors import Period, ReplayPoint
from tuning.models import NluRecord, Review

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot_dir(tmp_path: Path, settings: object) -> Path:
    """A bot whose global threshold is 0.3 and card_declined's own 0.5."""
    (tmp_path / "triage").mkdir()
    (tmp_path / "config.yml").write_text(
        "pipeline:\n  - name: SpacyNLP\n  - name: components.intent_thresholds.PerIntentFallbackClassifier\n"
        "    threshold: 0.3\n"
    )
    (tmp_path / "triage" / "intent_thresholds.yml").write_text("thresholds:\n  card_declined: 0.5\n")
    settings.BOT_DIR = tmp_path  # type: ignore[attr-defined]
    return tmp_path


def reading(top: str, confidence: float, *, agent_label: str = "", review: tuple[str, str] | None = None) -> None:
    """A customer message of DAY the classifier read as `top` (nlu_fallback below 0.3), labelled by the agent who
    resolved the handoff it led to, or reviewed by a manager (verdict, intent)."""
    started = conversation(at("10:00:00"))
    said = message(started, at("10:00:00"), text=f"about {top}")
    record = NluRecord.objects.create(
        message=said, text=said.text, intent=top if confidence >= 0.3 else "nlu_fallback", confidence=confidence,
        ranking=[{"name": top, "confidence": confidence}], classified_at=at("10:00:00"),
    )
    if agent_label:
        handoff(started, "low_confidence", at("10:00:01"), said, label_intent=agent_label, outcome="resolved")
    if review:
        reviewer = make_agent(f"m{record.pk}", "M", role="manager")
        Review.objects.create(record=record, verdict=review[0], intent=review[1], reviewed_by=reviewer)


@pytest.fixture
def labelled(bot_dir: Path) -> None:
    reading("card_delivery", 0.9, agent_label="card_delivery")  # right
    reading("pin", 0.45, review=("relabelled", "pin_locked"))  # wrong
    reading("opening_hours", 0.35, agent_label="statements")  # wrong
    reading("transfer_limits", 0.2, agent_label="transfer_limits")  # right, though below today's threshold
    reading("report_fraud", 0.8, agent_label="report_fraud")  # a topic: a person either way
    reading("card_declined", 0.55, agent_label="card_declined")  # right, above its own 0.5 at any threshold
    reading("savings_rates", 0.6, review=("out_of_scope", ""))  # wrong: nothing the bot should answer
    reading("greet", 0.9)  # nobody said: not replayed


def test_the_replay_over_the_labelled_readings(labelled: None) -> None:
    found = selectors.threshold_replay(Period.days(DAY), step=0.05)
    assert (found.labelled, found.today) == (7, 0.3)
    by_threshold = {point.threshold: point for point in found.points}
    assert len(found.points) == 21  # 0, 0.05, … 1 (today's 0.3 is one of them)
    assert by_threshold[0.0] == ReplayPoint(0.0, answered=6, wrong=3)
    assert by_threshold[0.3] == ReplayPoint(0.3, answered=5, wrong=3)
    assert by_threshold[0.4] == ReplayPoint(0.4, answered=4, wrong=2)
    assert by_threshold[0.5] == ReplayPoint(0.5, answered=3, wrong=1)
    assert by_threshold[0.65] == ReplayPoint(0.65, answered=2, wrong=0)
    assert by_threshold[1.0] == ReplayPoint(1.0, answered=1, wrong=0)
    assert found.containment(by_threshold[0.3]) == 5 / 7
    assert found.wrong_rate(by_threshold[0.3]) == 3 / 7


def test_todays_threshold_is_a_point_of_the_curve_even_off_the_grid(labelled: None, bot_dir: Path) -> None:
    config = bot_dir / "config.yml"
    config.write_text(config.read_text().replace("threshold: 0.3", "threshold: 0.42"))
    found = selectors.threshold_replay(Period.days(DAY), step=0.25)
    assert [p.threshold for p in found.points] == [0.0, 0.25, 0.42, 0.5, 0.75, 1.0]
    assert found.points[2] == ReplayPoint(0.42, answered=4, wrong=2)


def test_the_replay_page_marks_today(labelled: None) -> None:
    client = Client()
    client.force_login(make_agent("mona", "Mona", role="manager"))
    response = client.get("/agents/manager/oversight/replay/", {"range": "day", "day": DAY.isoformat()})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="replay-labelled">7<' in page
    assert '<tr class="replay__today" data-testid="replay-today"><td>0.3 (today)</td><td>5</td><td>71.4%</td><td>3</td><td>42.9%</td></tr>' in page
    chart = response.context["charts"]["replay"]
    assert chart["today"] == 0.3 and chart["containment"][0] == 6 / 7
