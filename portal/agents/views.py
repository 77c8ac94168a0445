"""The agent portal's pages. Live data reaches the inbox over the agent socket (docs/protocol.md), not here.
Who may reach each page is agents/roles.py's to say (docs/roles.md)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agents import roles
from agents.models import display_name


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    access = roles.access_of(request.user)
    # The agent socket refuses the same users (4403); saying so here beats a page that never connects.
    if not access.uses_agent_socket:
        return render(request, "agents/not_agent.html", status=403)
    agent = {
        "id": request.user.pk,
        "display_name": display_name(request.user),  # type: ignore[arg-type]  # login_required: a User
        "reads_audit": access.has(roles.Perm.READ_AUDIT),
        "protects_data": access.has(roles.Perm.PROTECT_DATA),
        "supervises": access.may_reassign(),
        "governs_bot": access.has(roles.Perm.GOVERN_BOT),
    }
    return render(request, "agents/inbox.html", {"agent": agent})

