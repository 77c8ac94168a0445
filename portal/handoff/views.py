"""The supervisors' pages: the audit trail (agents/roles.py: `read_audit`) and a customer's data
(`protect_customer_data`: find, export, erase; docs/privacy.md)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from agents import roles
from conversations import privacy, selectors


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


@login_required
@require_http_methods(["GET", "POST"])
def customer_data(request: HttpRequest) -> HttpResponse:
    """Find one customer's conversations (`?customer=<the bank's id>` of a verified customer, or
    `?conversation=<uuid>`), then export them (a JSON download) or erase them (POST, each confirmed by a ticked
    box); both audited (conversations/privacy.py)."""
    if not roles.access_of(request.user).has(roles.Perm.PROTECT_DATA):
        return render(request, "agents/not_agent.html", status=403)
    if request.method == "POST":
        return _act_on_customer_data(request)
    customer = request.GET.get("customer", "").strip()
    conversation = request.GET.get("conversation", "").strip()
    found = selectors.customer_conversations(customer_id=customer, conversation_id=_uuid(conversation))
    return render(
        request,
        "handoff/customer_data.html",
        {
            "customer": customer,
            "conversation": conversation,
            "searched": bool(customer or conversation),
            "conversations": found,
            "retention_days": settings.RETENTION_DAYS,
        },
    )


def _act_on_customer_data(request: HttpRequest) -> HttpResponse:
    ids = [i for i in (_uuid(v) for v in request.POST.getlist("conversation")) if i is not None]
    action = request.POST.get("action")
    back = redirect(f"{request.path}?conversation={ids[0]}" if ids else request.path)
    if not ids or action not in ("export", "erase"):
        messages.error(request, "Nothing was done: choose the conversations and export or erase.")
        return back
    if request.POST.get("confirm") != "yes":
        messages.error(request, f"Nothing was done: tick the box to confirm the {action}.")
        return back
    if action == "export":
        export = privacy.customer_data_export(conversation_ids=ids, actor=request.user)
        response = HttpResponse(export.model_dump_json(indent=2), content_type="application/json")
        filename = f"customer-data-{timezone.now():%Y%m%d-%H%M%S}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    for conversation_id in ids:
        try:
            erased = privacy.conversation_erase(conversation_id=conversation_id, actor=request.user)
        except privacy.CustomerWaiting:
            messages.error(
                request,
                f"Conversation {conversation_id} was not erased: a customer is waiting on it. Erase it once it is"
                " resolved or back with the bot.",
            )
            continue
        if erased:
            messages.success(request, f"Conversation {conversation_id} was erased; the bot's tracker follows.")
        else:
            messages.info(request, f"Conversation {conversation_id} was already erased.")
    return back


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None
