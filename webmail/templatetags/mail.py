"""Template filters of the mail pages."""

from __future__ import annotations

from django import template

register = template.Library()

XDM_PREFIX = "XDM/1.0/DDM+"


@register.filter
def display_subject(subject: str) -> str:
    """The subject as people should read it: without the IHE XDM prefix that MSSanté
    software puts in front (Ref. ECO.2.1.3; hidden in the UI, UX.28)."""
    subject = subject or ""
    return subject[len(XDM_PREFIX) :].lstrip() if subject.startswith(XDM_PREFIX) else subject
