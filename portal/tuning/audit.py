"""The governance trail's one writer, called inside the transaction of the change it records."""

from __future__ import annotations

from typing import Any

from tuning.models import GovernanceAction, GovernanceRecord


def governance_record(
    *, actor: Any, action: GovernanceAction, detail: dict[str, Any] | None = None
) -> GovernanceRecord:
    return GovernanceRecord.objects.create(actor=actor, action=action, detail=detail or {})
