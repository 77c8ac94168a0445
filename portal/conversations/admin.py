from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only (AuditRecord), and only the portal's actions write it."""

    list_display = ["at", "actor", "action", "conversation_id", "subject"]
    list_filter = ["action"]
    search_fields = ["conversation_id", "actor__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
