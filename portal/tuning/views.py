"""The managers' pages (mounted at /agents/manager/): thin, reading through selectors, writing through services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from bot_gateway import domain
from tuning import selectors, services
from tuning.access import manager_page, manager_required
from tuning.forms import InboxFilterForm, ReviewForm
from tuning.models import TrainingExample, Verdict
from tuning.services import ExampleOutcome


@manager_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return manager_page(request, "tuning/home.html", {})


@manager_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """Every classified customer message, newest first, filtered by the query string; 50 a page."""
    form = InboxFilterForm(request.GET)
    page = Paginator(selectors.inbox_records(form.filters()), selectors.INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    standings = selectors.text_standings({record.pk: record.text for record in page})
    query = request.GET.copy()
    query.pop("page", None)
    return manager_page(
        request,
        "tuning/inbox.html",
        {
            "form": form,
            "page": page,
            "rows": [(record, standings[record.pk]) for record in page],
            "intents": domain.domain_intents(),
            "filter_intents": selectors.inbox_intents(),
            "query": query.urlencode(),
            "verdicts": Verdict,
            "low_confidence": settings.NLU_LOW_CONFIDENCE,
        },
    )


@manager_required
@require_POST
def review(request: HttpRequest) -> HttpResponse:
    """A verdict on one record or on the checked ones; back to the inbox as it was filtered."""
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors.get("__all__", ["The review could not be read."])))
        return _back(request)
    records = selectors.inbox_records(selectors.InboxFilters()).filter(pk__in=form.cleaned_data["record"])
    try:
        result = services.record_review(
            records=records,
            verdict=Verdict(form.cleaned_data["verdict"]),
            intent=form.cleaned_data["intent"],
            reviewer=request.user,
        )
    except services.ReviewRefused as refused:
        messages.error(request, str(refused))
        return _back(request)
    messages.success(request, _summary(result))
    if held_out := result.of(ExampleOutcome.HELD_OUT):
        messages.warning(
            request,
            f"{len(held_out)} of them {'is' if len(held_out) == 1 else 'are'} in the held-out test sets and "
            "so refused as training data: held-out sets must never be trained on.",
        )
    return _back(request)


def _summary(result: services.ReviewResult) -> str:
    parts = [f"{len(result.outcomes)} reviewed"]
    for outcome, said in (
        (ExampleOutcome.ADDED, "approved as training examples"),
        (ExampleOutcome.DUPLICATE, "already training data, not added twice"),
        (ExampleOutcome.WITHDRAWN, "examples withdrawn"),
    ):
        if done := result.of(outcome):
            parts.append(f"{len(done)} {said}")
    return "; ".join(parts) + "."


def _back(request: HttpRequest) -> HttpResponse:
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("tuning:inbox")
    return HttpResponseRedirect(back)


@manager_required
@require_GET
def examples(request: HttpRequest) -> HttpResponse:
    """The approved examples the next training adds, with withdraw, and the export."""
    approved = list(selectors.approved_examples().select_related("approved_by"))
    committed = selectors.committed_intents([example.text for example in approved])
    return manager_page(request, "tuning/examples.html", {"rows": list(zip(approved, committed))})


@manager_required
@require_POST
def withdraw(request: HttpRequest, example_id: int) -> HttpResponse:
    try:
        example = services.training_example_withdraw(example_id=example_id, actor=request.user)
    except TrainingExample.DoesNotExist:
        raise Http404("no such example")
    messages.success(request, f"Withdrawn: “{example.text}” ({example.intent}) is no longer trained on.")
    return HttpResponseRedirect(reverse("tuning:examples"))


@manager_required
@require_POST
def export(request: HttpRequest) -> HttpResponse:
    """The approved examples as a Rasa YAML file to commit to bot/data/nlu."""
    response = HttpResponse(
        services.training_examples_export(actor=request.user, via="page"), content_type="application/x-yaml"
    )
    response["Content-Disposition"] = 'attachment; filename="approved_examples.yml"'
    return response


# What a training is doing, in the manager's words (the socket sends the stage's code).
STAGE_LABELS = {
    "data_check": "Checking the training data",
    "training": "Training the model",
    "evaluation": "Evaluating it on the held-out sets and test stories",
}


@manager_required
@require_GET
def training(request: HttpRequest) -> HttpResponse:
    """The Retrain button, the latest training live over the manager socket, the past trainings."""
    latest = selectors.latest_training()
    return manager_page(
        request,
        "tuning/training.html",
        {
            "latest": latest,
            "latest_stage": STAGE_LABELS.get(latest.stage, "") if latest else "",
            "stage_labels": STAGE_LABELS,
            "trainings": selectors.recent_trainings(),
            "examples_count": selectors.approved_examples().count(),
        },
    )


@manager_required
@require_POST
def retrain(request: HttpRequest) -> HttpResponse:
    try:
        queued = services.training_request(by=request.user)
    except services.TrainingRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Training #{queued.pk} is queued; its progress shows below.")
    return redirect("tuning:training")
