"""Which model the bot runs: deploy a candidate that passed the gate, roll back, register the baseline.

Each change writes its Deployment and GovernanceRecord, then swaps the Rasa server's model, in one transaction:
the swap comes last, so a swap that fails rolls the records back and production's record stays true (Rasa keeps
the model it had when it cannot load another). Production's rows are locked meanwhile, so two managers' deploys
happen one after the other.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction

from bot_gateway.client import BotUnavailable, BotUnreachable, get_gateway
from tuning import selectors
from tuning.audit import governance_record
from tuning.models import Deployment, DeploymentAction, GovernanceAction, ModelVersion

logger = logging.getLogger(__name__)

BASELINE_REASON = "the model built from bot/ as committed"


class ModelSwapper(Protocol):
    """What a deploy needs of the Rasa server (bot_gateway.client.RasaGateway; a fake in unit tests)."""

    def replace_model(self, model_file: str, *, timeout: float) -> None: ...

    def loaded_model(self) -> str: ...


class DeployRefused(Exception):
    """Production stays as it was; the message says why, for the manager."""


class SwapFailed(DeployRefused):
    """The Rasa server did not take the model: production stays as it was."""


@transaction.atomic
def model_deploy(
    *, model_version: ModelVersion, by: Any, reason: str, gateway: ModelSwapper | None = None
) -> Deployment:
    """Put `model_version` in production, if it passes the gate against the version in production now."""
    _lock_production()
    version = ModelVersion.objects.get(pk=model_version.pk)
    current = selectors.in_production()
    if current is not None and current.pk == version.pk:
        raise DeployRefused(f"{version.name} is in production already.")
    gate = selectors.deploy_gate(version, current)
    if not gate["passed"]:
        failed = "; ".join(f"{check['name']}: {check['detail']}" for check in gate["checks"] if not check["passed"])
        raise DeployRefused(f"{version.name} did not pass the gate, so it cannot be deployed ({failed}).")
    if not reason.strip():
        raise DeployRefused("Say why you deploy it: the reason is kept with the deployment.")
    return _put_in_production(
        version, DeploymentAction.DEPLOYED, by=by, reason=reason.strip(), replaced=current,
        gateway=gateway, detail={"gate": gate},
    )


@transaction.atomic
def model_rollback(*, by: Any, reason: str = "", gateway: ModelSwapper | None = None) -> Deployment:
    """Back to the version deployed before the one in production now."""
    _lock_production()
    line = selectors.production_line()
    if len(line) < 2:
        raise DeployRefused("Nothing to roll back to: no other version was in production before this one.")
    return _put_in_production(
        line[-2], DeploymentAction.ROLLED_BACK, by=by, reason=reason.strip(), replaced=line[-1], gateway=gateway
    )


@transaction.atomic
def model_register_baseline(*, path: Path, evaluation: dict[str, Any] | None = None) -> ModelVersion:
    """Keep the model `./switchboard setup` built from bot/ as committed as a version, and put it in production
    when it is new (the bot's committed files changed: the repository is the source of truth) or when nothing
    is. `evaluation`: its evaluation on today's held-out sets (scripts/bot_build.py), kept as the version's. No
    swap: the Rasa server is started afterwards on what is in production (scripts/launcher.py)."""
    _lock_production()
    resolved = str(path.resolve())
    version, created = ModelVersion.objects.get_or_create(
        name=path.name.removesuffix(".tar.gz"), defaults={"path": resolved}
    )
    if version.path != resolved:  # the same build, cached elsewhere now
        version.path = resolved
        version.save(update_fields=["path"])
    if evaluation is not None and evaluation != version.evaluation:  # e.g. a held-out set was added
        version.evaluation = evaluation
        version.save(update_fields=["evaluation"])
    if created or selectors.in_production() is None:
        Deployment.objects.create(
            model_version=version, action=DeploymentAction.DEPLOYED, deployed_by=None, reason=BASELINE_REASON
        )
        governance_record(
            actor=None,
            action=GovernanceAction.DEPLOYED,
            detail={"model_version_id": version.pk, "name": version.name, "reason": BASELINE_REASON},
        )
    return version


@transaction.atomic
def model_reconcile(*, gateway: ModelSwapper | None = None) -> bool:
    """Put the version in production back into a Rasa server that runs another: one restarted after a crash
    comes back on the model it was first started on (tasks.keep_production_model_loaded, every 30 s).
    True if it swapped. Under production's lock, so it never undoes a deploy that is committing."""
    _lock_production()
    production = selectors.in_production()
    if production is None:
        return False
    gateway = gateway or get_gateway()
    try:
        running = gateway.loaded_model()
        if running == Path(production.path).name:
            return False
        gateway.replace_model(production.path, timeout=settings.RASA_MODEL_LOAD_TIMEOUT_SECONDS)
    except BotUnavailable as exc:  # down or starting: asked again next time
        logger.info("cannot check the bot's model now: %s", exc)
        return False
    logger.warning("the bot ran %s, not %s, which is in production: swapped it back", running, production.name)
    return True


def _lock_production() -> None:
    # Every version row: a handful, and any of them may be the one going in or out.
    list(ModelVersion.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def _put_in_production(
    version: ModelVersion,
    action: DeploymentAction,
    *,
    by: Any,
    reason: str,
    replaced: ModelVersion | None,
    gateway: ModelSwapper | None,
    detail: dict[str, Any] | None = None,
) -> Deployment:
    deployment = Deployment.objects.create(model_version=version, action=action, deployed_by=by, reason=reason)
    governance_record(
        actor=by,
        action=GovernanceAction(action.value),
        detail={
            "model_version_id": version.pk,
            "name": version.name,
            "replaced": replaced.name if replaced else None,
            "reason": reason,
            **(detail or {}),
        },
    )
    _swap(gateway or get_gateway(), version)
    return deployment


def _swap(gateway: ModelSwapper, version: ModelVersion) -> None:
    """Make the Rasa server run `version`, or raise SwapFailed (and the caller's transaction rolls back)."""
    try:
        gateway.replace_model(version.path, timeout=settings.RASA_MODEL_LOAD_TIMEOUT_SECONDS)
        return
    except BotUnreachable as exc:
        failure: BotUnavailable = exc  # it never got there: the old model runs
    except BotUnavailable as exc:
        failure = exc
        # A timeout or a lost answer may still have swapped it: ask what runs, so the record follows the bot.
        try:
            if gateway.loaded_model() == Path(version.path).name:
                logger.warning("swap to %s answered %s, but the bot runs it: recorded", version.name, exc)
                return
        except BotUnavailable:
            pass
    logger.warning("swap to %s failed: %s", version.name, failure)
    raise SwapFailed(f"The bot could not load {version.name}, so it still runs the model it had ({failure}).")
