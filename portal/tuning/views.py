"""The managers' pages (mounted at /agents/manager/): thin, reading through selectors, writing through services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tuning.access import manager_required


@manager_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "tuning/home.html")
