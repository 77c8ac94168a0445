"""Only those who govern the bot (agents.govern_bot: managers, admins) reach tuning's pages, endpoints and
socket; everyone else gets 403 (docs/roles.md)."""

from __future__ import annotations

import functools
from typing import Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agents import roles

View = Callable[..., HttpResponse]


def governs_bot(user: object) -> bool:
    return roles.access_of(user).has(roles.Perm.GOVERN_BOT)


def manager_required(view: View) -> View:
    @login_required
    @functools.wraps(view)
    def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not governs_bot(request.user):
            return render(request, "agents/not_agent.html", status=403)
        return view(request, *args, **kwargs)

    return checked
