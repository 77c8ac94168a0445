"""The agent portal's pages. Live data reaches the inbox over the agent socket (docs/protocol.md), not here."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agents.models import display_name, is_agent


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    # The agent socket refuses the same users (4403); saying so here beats a page that never connects.
    if not is_agent(request.user):
        return render(request, "agents/not_agent.html", status=403)
    agent = {"id": request.user.pk, "display_name": display_name(request.user)}
    return render(request, "agents/inbox.html", {"agent": agent})
