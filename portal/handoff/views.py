"""The supervisors' page of the audit trail (agents/roles.py: `read_audit`)."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agents import roles
from conversations import selectors


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    """Newest first; `?conversation=<uuid>` and `?user=<username>` filter it."""
    if not roles.access_of(request.user).has(roles.Perm.READ_AUDIT):
        return render(request, "agents/not_agent.html", status=403)
    conversation_id = _uuid(request.GET.get("conversation", ""))
    username = request.GET.get("user", "").strip()
    actor = User.objects.filter(username=username).first() if username else None
    records = (
        []
        if username and actor is None
        else selectors.audit_records(conversation_id=conversation_id, actor_id=actor.pk if actor else None)
    )
    return render(
        request,
        "handoff/audit.html",
        {
            "records": records,
            "conversation": request.GET.get("conversation", ""),
            "username": username,
            "limit": selectors.AUDIT_PAGE_SIZE,
        },
    )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None
