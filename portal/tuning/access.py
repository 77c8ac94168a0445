"""Only those who govern the bot (agents.govern_bot: managers, admins) reach the manager pages, endpoints and
socket (tuning's and oversight's); everyone else gets 403 (docs/roles.md). `manager_page` renders any of them."""

from __future__ import annotations

import functools
from typing import Any, Callable

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


def manager_page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """A manager page, its header linking the agent inbox for those who also work it (admins)."""
    uses_inbox = roles.access_of(request.user).uses_agent_socket
    return render(request, template, {"uses_agent_inbox": uses_inbox, **context}, status=status)
