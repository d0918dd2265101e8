"""Template filters of the audit page: codes in words (webmail.audit_labels)."""

from __future__ import annotations

from django import template

from mailboxes.models import AuditEvent
from webmail import audit_labels

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return audit_labels.action_label(code)


@register.filter
def target_label(event: AuditEvent) -> str:
    return audit_labels.target_label(event)


@register.filter
def response_label(text: str) -> str:
    return audit_labels.response_label(text)
