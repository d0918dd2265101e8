"""The trust list's and the directory's loads, read-only for administrators."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from directory.models import DirectoryImport, TrustedDomain, TrustListLoad


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    """Written by the loads only: an edited trust list would be a silent security change."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(TrustListLoad)
class TrustListLoadAdmin(ReadOnly):
    list_display = ("created", "accepted", "domains", "skipped", "generated", "reason")
    list_filter = ("accepted",)


@admin.register(TrustedDomain)
class TrustedDomainAdmin(ReadOnly):
    list_display = ("display", "name", "description", "operators")
    search_fields = ("name", "description")


@admin.register(DirectoryImport)
class DirectoryImportAdmin(ReadOnly):
    list_display = ("created", "accepted", "read", "imported", "skipped", "red_list", "reason")
    list_filter = ("accepted",)
