"""The audit trail's one writer. Called by transitions.py and services.py inside the transaction of the action,
so a record exists exactly when its action committed."""

from __future__ import annotations

import uuid
from typing import Any

from conversations.models import AuditAction, AuditRecord


def audit_record(
    *,
    actor: Any,
    action: AuditAction,
    conversation_id: uuid.UUID,
    subject: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    return AuditRecord.objects.create(
        actor=actor, action=action, conversation_id=conversation_id, subject=subject, detail=detail or {}
    )
