"""The managers' dashboard page and its CSV exports, on the day whose figures are known (history_support)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from history_support import DAY, known_day
from portal_support import make_agent

from oversight.models import DriftCheck, Measure

pytestmark = pytest.mark.django_db

URL = "/agents/manager/oversight/"


@pytest.fixture
def manager() -> Client:
    known_day()
    client = Client()
    client.force_login(make_agent("mona", "Mona", role="manager"))
    return client


def _csv(client: Client, table: str, query: str) -> list[list[str]]:
    response = client.get(f"{URL}export/{table}.csv?{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_day_on_the_page(manager: Client) -> None:
    response = manager.get(URL, {"range": "day", "day": DAY.isoformat()})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="kpi-conversations">5<' in page
    assert 'data-testid="kpi-containment">60.0%<' in page
    assert 'data-testid="kpi-claim">2.0 min / 2.0 h<' in page  # 120 s and 7224 s
    charts = json.loads(page.split('<script id="oversight-charts" type="application/json">')[1].split("</script>")[0])
    assert charts["days"] == {"labels": [DAY.isoformat()], "conversations": [5], "containment": [0.6]}
    assert charts["reasons"]["rates"] == [0.2, 0.2]  # read from the page's JSON element, never inline script


def test_a_week_ends_on_the_day_asked_for(manager: Client) -> None:
    board = manager.get(URL, {"range": "week", "day": (DAY + timedelta(days=5)).isoformat()}).context["board"]
    assert (board.period.start.date(), board.period.day_count) == (DAY - timedelta(days=1), 7)
    assert (board.containment.conversations, board.containment.contained) == (7, 3)


def test_a_custom_range_and_its_refusals(manager: Client) -> None:
    board = manager.get(URL, {"range": "custom", "start": DAY.isoformat(), "end": DAY.isoformat()}).context["board"]
    assert (board.period.start.date(), board.period.day_count) == (DAY, 1)
    backwards = manager.get(URL, {"range": "custom", "start": DAY.isoformat(), "end": "2026-03-01"})
    assert "The range ends before it starts." in backwards.content.decode()


def test_every_table_exports_as_csv_with_raw_figures(manager: Client) -> None:
    query = f"range=day&day={DAY.isoformat()}"
    assert _csv(manager, "containment", query) == [
        ["Conversations", "Finished by the bot", "Containment", "Handoff rate"],
        ["5", "3", "0.6", "0.4"],
    ]
    assert _csv(manager, "reasons", query)[1:] == [
        ["Customer asked for a person", "explicit_request", "1", "0.2"],
        ["Sensitive topic", "sensitive_topic", "1", "0.2"],
    ]
    human = _csv(manager, "human-side", query)
    assert [row[:2] for row in human[1:]] == [["Time to claim", "3"], ["Time to first response", "3"], ["Resolution time", "2"]]
    assert float(human[1][2]) == pytest.approx(120.0)
    assert _csv(manager, "intents", query)[1] == ["card_delivery", "2", "2", "0", "0", "1"]
    queue = _csv(manager, "queue", query)
    assert len(queue) == 25 and queue[1] == ["00:00", "1.0", "1"]
    assert len(_csv(manager, "by-day", query)) == 2
    assert manager.get(f"{URL}export/nothing.csv").status_code == 404


def test_the_manager_home_links_the_dashboard(manager: Client) -> None:
    assert f'href="{URL}"' in manager.get("/agents/manager/").content.decode()


def test_the_drift_checks_of_the_period_are_charted_and_the_alerts_shown(manager: Client) -> None:
    DriftCheck.objects.create(day=DAY, measure=Measure.HANDOFF_RATE, value=0.4, baseline=0.2, low=0.1, high=0.3, drifted=True)
    DriftCheck.objects.create(day=DAY, measure=Measure.FALLBACK_RATE, value=0.1, baseline=0.1, low=0.05, high=0.15)
    DriftCheck.objects.create(day=DAY - timedelta(days=1), measure=Measure.HANDOFF_RATE, value=0.9, baseline=0.2, low=0.1, high=0.3, drifted=True)
    response = manager.get(URL, {"range": "day", "day": DAY.isoformat()})
    page = response.content.decode()
    assert 'data-testid="drift-alerts"' in page and "Handoff rate 0.400, expected 0.100–0.300" in page
    charts = response.context["charts"]["drift"]
    assert charts["handoff_rate"] == {
        "title": "Handoff rate", "labels": [DAY.isoformat()], "value": [0.4], "low": [0.1], "high": [0.3], "alert": [True],
    }
    assert charts["fallback_rate"]["alert"] == [False]
    assert charts["intent_mix"]["value"] == [None]  # not checked that day
    assert _csv(manager, "drift-alerts", f"range=day&day={DAY.isoformat()}") == [
        ["Day", "Measure", "Intent", "Value", "Expected from", "Expected to"],
        [DAY.isoformat(), "Handoff rate", "", "0.4", "0.1", "0.3"],
    ]
