"""Django admin for the operator's staff. The audit trail is read-only there too."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from mailboxes.models import AuditEvent, Delegation, Invitation, Mailbox, Structure, User


@admin.register(User)
class PersonAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "first_name", "last_name", "email", "subject_name_id", "is_active")
    search_fields = ("username", "first_name", "last_name", "email", "subject_name_id")
    fieldsets = (
        *UserAdmin.fieldsets,  # type: ignore[misc]
        ("MSSanté", {"fields": ("subject_name_id",)}),
    )


@admin.register(Structure)
class StructureAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "kind", "finess", "siret")
    search_fields = ("name", "finess", "siret")
    filter_horizontal = ("managers",)


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("address", "kind", "label", "structure", "owner")
    list_filter = ("kind",)
    search_fields = ("address", "label")
    raw_id_fields = ("owner",)


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("person", "mailbox", "role", "starts_at", "expires_at", "revoked_at")
    list_filter = ("role",)
    raw_id_fields = ("person", "mailbox", "granted_by", "revoked_by")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("email", "invited_by", "created", "expires_at", "accepted_at")
    exclude = ("token_digest",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("created", "actor_label", "mailbox_address", "action", "outcome", "client_ip")
    list_filter = ("outcome", "action")
    search_fields = ("actor_label", "actor_subject_name_id", "mailbox_address", "target")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
