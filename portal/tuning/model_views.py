"""The model pages (/agents/manager/models/): every version kept, a version's evaluation beside production's with
the gate's checks, deploy and rollback. Deploy and rollback answer JSON to a client that asks for it
(`Accept: application/json`); a refusal is 409 (the page shows why), a bot that could not swap 502."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tuning import deploy, evaluation_view, selectors
from tuning.access import manager_page, manager_required
from tuning.models import Deployment, ModelVersion


@manager_required
@require_GET
def models(request: HttpRequest) -> HttpResponse:
    """The versions, newest first, which one runs now, and production's history with who changed it and why."""
    line = selectors.production_line()
    return manager_page(
        request,
        "tuning/models.html",
        {
            "versions": selectors.model_versions(),
            "production": line[-1] if line else None,
            "rollback_to": line[-2] if len(line) > 1 else None,
            "history": selectors.deployments()[:100],
        },
    )


@manager_required
@require_GET
def model_version(request: HttpRequest, version_id: int) -> HttpResponse:
    return _version_page(request, get_object_or_404(ModelVersion, pk=version_id))


def _version_page(request: HttpRequest, version: ModelVersion, refused: str = "", status: int = 200) -> HttpResponse:
    production = selectors.in_production()
    context = evaluation_view.comparison(version, production)
    return manager_page(request, "tuning/model_version.html", {**context, "refused": refused}, status=status)


@manager_required
@require_POST
def deploy_version(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=version_id)
    try:
        deployment = deploy.model_deploy(model_version=version, by=request.user, reason=request.POST.get("reason", ""))
    except deploy.DeployRefused as refused:
        status = 502 if isinstance(refused, deploy.SwapFailed) else 409
        if _wants_json(request):
            return JsonResponse({"error": str(refused)}, status=status)
        return _version_page(request, version, refused=str(refused), status=status)
    return _done(request, deployment, f"{version.name} is in production now.")


@manager_required
@require_POST
def rollback(request: HttpRequest) -> HttpResponse:
    try:
        deployment = deploy.model_rollback(by=request.user, reason=request.POST.get("reason", ""))
    except deploy.DeployRefused as refused:
        status = 502 if isinstance(refused, deploy.SwapFailed) else 409
        if _wants_json(request):
            return JsonResponse({"error": str(refused)}, status=status)
        messages.error(request, str(refused))
        return HttpResponseRedirect(reverse("tuning:models"))
    return _done(request, deployment, f"Rolled back: {deployment.model_version.name} is in production again.")


def _done(request: HttpRequest, deployment: Deployment, said: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(_deployment_json(deployment))
    messages.success(request, said)
    return HttpResponseRedirect(reverse("tuning:models"))


def _deployment_json(deployment: Deployment) -> dict[str, Any]:
    return {
        "deployment_id": deployment.pk,
        "action": deployment.action,
        "model_version": {"id": deployment.model_version_id, "name": deployment.model_version.name},
        "reason": deployment.reason,
        "deployed_at": deployment.deployed_at.isoformat(),
    }


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")
