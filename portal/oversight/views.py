"""The managers' dashboard (/agents/manager/oversight/): thin, its figures from selectors, its tables from
tables.py for both the page and the CSV export."""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from agents import roles
from oversight import selectors
from oversight.forms import PeriodForm
from oversight.selectors import Dashboard
from oversight.tables import tables
from tuning.access import manager_required

TOP_INTENTS_CHARTED = 15


def _board(request: HttpRequest) -> tuple[PeriodForm, Dashboard]:
    form = PeriodForm(request.GET or None)
    return form, selectors.dashboard(form.period(timezone.now().date()))


@manager_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form, board = _board(request)
    return render(
        request,
        "oversight/dashboard.html",
        {
            "uses_agent_inbox": roles.access_of(request.user).uses_agent_socket,
            "form": form,
            "board": board,
            "last_day": board.period.end.date() - timedelta(days=1),
            "tables": tables(board),
            "query": request.GET.urlencode(),
            "charts": _charts(board),
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


def _charts(board: Dashboard) -> dict[str, Any]:
    """What the page's charts draw (json_script: static/oversight/dashboard.js reads it)."""
    top = board.intents[:TOP_INTENTS_CHARTED]
    return {
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
