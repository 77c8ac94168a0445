"""The managers' dashboard (/agents/manager/oversight/): thin, its figures from selectors, its tables from
tables.py for both the page and the CSV export."""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from bot_gateway import domain
from oversight import selectors, services
from oversight.forms import NewIntentForm, PeriodForm, TopicAdoptForm
from oversight.models import Measure, TopicStatus
from oversight.tasks import discover_topics
from oversight.selectors import Dashboard
from oversight.tables import tables
from tuning.access import manager_page, manager_required
from tuning.services import ExampleOutcome

TOP_INTENTS_CHARTED = 15


def _board(request: HttpRequest) -> tuple[PeriodForm, Dashboard]:
    form = PeriodForm(request.GET or None)
    return form, selectors.dashboard(form.period(timezone.now().date()))


@manager_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form, board = _board(request)
    return manager_page(
        request,
        "oversight/dashboard.html",
        {
            "form": form,
            "board": board,
            "last_day": board.period.end.date() - timedelta(days=1),
            "tables": tables(board),
            "query": request.GET.urlencode(),
            "charts": _charts(board),
            "measures": Measure,
        },
    )


@manager_required
@require_GET
def export(request: HttpRequest, table: str) -> HttpResponse:
    """One of the page's tables, over the same period, as CSV (raw figures: rates as fractions, times in s)."""
    _, board = _board(request)
    found = next((t for t in tables(board) if t.name == table), None)
    if found is None:
        raise Http404("no such table")
    start, end = board.period.start.date(), board.period.end.date()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="oversight-{table}-{start}-{end}.csv"'
    writer = csv.writer(response)
    writer.writerow([column.label for column in found.columns])
    writer.writerows(["" if value is None else value for value in row] for row in found.rows)
    return response


def _drift_series(board: Dashboard) -> dict[str, dict[str, Any]]:
    """Each drift measure by day over the period, with its baseline band; null where a day was not checked."""
    days = [d.day for d in board.by_day]
    checks = {(check.measure, check.day): check for check in board.drift}
    series = {}
    for measure in Measure:
        found = [checks.get((measure.value, day)) for day in days]
        series[measure.value] = {
            "title": measure.label,
            "labels": [day.isoformat() for day in days],
            "value": [c.value if c else None for c in found],
            "low": [c.low if c else None for c in found],
            "high": [c.high if c else None for c in found],
            "alert": [bool(c and c.drifted) for c in found],
        }
    return series


def _charts(board: Dashboard) -> dict[str, Any]:
    """What the page's charts draw (json_script: static/oversight/dashboard.js reads it)."""
    top = board.intents[:TOP_INTENTS_CHARTED]
    return {
        "drift": _drift_series(board),
        "days": {
            "labels": [d.day.isoformat() for d in board.by_day],
            "conversations": [d.containment.conversations for d in board.by_day],
            "containment": [d.containment.rate for d in board.by_day],
        },
        "reasons": {"labels": [r.label for r in board.reasons], "rates": [r.rate for r in board.reasons]},
        "human": {
            "labels": ["Time to claim", "First response", "Resolution"],
            "p50": [d.p50 for d in (board.human_side.time_to_claim, board.human_side.time_to_first_response, board.human_side.resolution_time)],
            "p90": [d.p90 for d in (board.human_side.time_to_claim, board.human_side.time_to_first_response, board.human_side.resolution_time)],
        },
        "queue": {
            "labels": [f"{q.hour:02d}" for q in board.queue],
            "mean": [q.mean for q in board.queue],
            "most": [q.most for q in board.queue],
        },
        "intents": {
            "labels": [i.intent for i in top],
            "answered": [i.answered for i in top],
            "handed_off": [i.handed_off for i in top],
            "unneeded": [i.unneeded_handoffs for i in top],
            "missed": [i.missed_escalations for i in top],
        },
    }


# --- new-intent discovery (docs/oversight.md) ------------------------------------------------------------------


@manager_required
@require_GET
def topics(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return manager_page(
        request,
        "oversight/topics.html",
        {
            "open_topics": selectors.topics_listing(now=now, status=TopicStatus.OPEN),
            "decided": [
                *selectors.topics_listing(now=now, status=TopicStatus.ADOPTED),
                *selectors.topics_listing(now=now, status=TopicStatus.DISMISSED),
            ],
            "intents": domain.domain_intents(),
            "trend_weeks": selectors.TREND_WEEKS,
            "window_days": settings.TOPIC_WINDOW_DAYS,
        },
    )


@manager_required
@require_POST
def topics_discover(request: HttpRequest) -> HttpResponse:
    discover_topics.delay()
    messages.info(request, "Discovery started: the topics below are replaced when it finishes (reload in a minute).")
    return redirect("oversight:topics")


@manager_required
@require_POST
def topic_adopt(request: HttpRequest, topic_id: int) -> HttpResponse:
    form = TopicAdoptForm(request.POST, intents=domain.domain_intents())
    if not form.is_valid():
        messages.error(request, "Choose one of the bot's intents.")
        return redirect("oversight:topics")
    try:
        result = services.topic_adopt(topic_id=topic_id, intent=form.cleaned_data["intent"], actor=request.user)
    except services.TopicRefused as refused:
        messages.error(request, str(refused))
        return redirect("oversight:topics")
    added = len(result.of(ExampleOutcome.ADDED))
    messages.success(
        request,
        f"{len(result.outcomes)} messages relabelled {form.cleaned_data['intent']}; {added} approved as training "
        "examples for the next retrain.",
    )
    return redirect("oversight:topics")


@manager_required
@require_POST
def topic_dismiss(request: HttpRequest, topic_id: int) -> HttpResponse:
    try:
        result = services.topic_dismiss(topic_id=topic_id, actor=request.user)
    except services.TopicRefused as refused:
        messages.error(request, str(refused))
        return redirect("oversight:topics")
    messages.success(request, f"Dismissed: {len(result.outcomes)} messages ignored, and not grouped again.")
    return redirect("oversight:topics")


@manager_required
@require_POST
def topic_new_intent(request: HttpRequest, topic_id: int) -> HttpResponse:
    form = NewIntentForm(request.POST)
    try:
        if not form.is_valid():
            raise services.TopicRefused("Name the new intent.")
        name = form.cleaned_data["name"]
        document = services.topic_new_intent_yaml(topic_id=topic_id, intent=name, actor=request.user)
    except services.TopicRefused as refused:
        messages.error(request, str(refused))
        return redirect("oversight:topics")
    response = HttpResponse(document, content_type="application/x-yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="nlu-{name}.yml"'
    return response


@manager_required
@require_GET
def replay(request: HttpRequest) -> HttpResponse:
    """What if the fallback threshold were X: containment against wrong answers over the period's labelled
    readings, today's threshold marked."""
    form = PeriodForm(request.GET or None)
    period = form.period(timezone.now().date())
    found = selectors.threshold_replay(period)
    rows = [
        (point, found.containment(point), found.wrong_rate(point), point.threshold == found.today)
        for point in found.points
    ]
    chart = {
        "today": found.today,
        "thresholds": [point.threshold for point in found.points],
        "containment": [rate for _, rate, _, _ in rows],
        "wrong": [rate for _, _, rate, _ in rows],
    }
    return manager_page(
        request,
        "oversight/replay.html",
        {
            "form": form,
            "period": period,
            "last_day": period.end.date() - timedelta(days=1),
            "replay": found,
            "rows": rows,
            "charts": {"replay": chart},
        },
    )
