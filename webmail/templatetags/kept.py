"""`{% kept "template.html" key… %}`: an include rendered once per process for its keys and
the language, then reused (issue 16: the top bar and the shortcuts' help cost a millisecond
of template rendering on every page, for a few values that seldom change).

What a kept template shows must follow from its keys, the language and the page's own
address: it may read the request's `get_full_path` and the CSRF token, which differ per page
and per session and are put in afterwards (slots), and nothing else of the request that is
not among its keys. Kept in this process only (never Redis: they name the person), at most
KEPT_ENTRIES of them.
"""

from __future__ import annotations

import threading
from typing import Any

from django import template
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.context import Context
from django.template.loader import get_template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()
KEPT_ENTRIES = 4096
CSRF_SLOT = "\ue000csrf\ue000"  # private-use characters: never in a page, never escaped
PATH_SLOT = "\ue000path\ue000"
_kept: dict[tuple[object, ...], str] = {}
_lock = threading.Lock()


class _Slotted:
    """The request as a kept template sees it: its full path is a slot."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def get_full_path(self) -> str:
        return PATH_SLOT

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


@register.simple_tag(takes_context=True)
def kept(context: Context, name: str, *keys: object) -> SafeString:
    request = context.get("request")
    if not isinstance(request, HttpRequest):  # an error page drawn without its request
        return mark_safe(get_template(name).render(_values(context)))  # noqa: S308 - a template's output
    key = (name, get_language(), *keys)
    html = _kept.get(key)
    if html is None:
        values = _values(context) | {"request": _Slotted(request), "csrf_token": CSRF_SLOT}
        html = get_template(name).render(values)
        with _lock:
            if len(_kept) >= KEPT_ENTRIES:
                _kept.clear()
            _kept[key] = html
    if CSRF_SLOT in html:
        html = html.replace(CSRF_SLOT, get_token(request))
    if PATH_SLOT in html:
        html = html.replace(PATH_SLOT, escape(request.get_full_path()))
    return mark_safe(html)  # noqa: S308 - the template's own escaped output, and escaped slots


def _values(context: Context) -> dict[str, Any]:
    return {str(name): value for name, value in context.flatten().items()}
