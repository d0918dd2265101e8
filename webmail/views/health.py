"""Health checks: JSON, no secrets, 503 naming the failing part.

- `GET /healthz/live`: this web process can serve pages (its database and Redis answer). For
  load balancers: an operator outage must not take every web node out of rotation, since the
  pages serve the cache under a banner while the operator is away.
- `GET /healthz/ready` (and `/healthz`, its older name): everything, the task broker and the
  operator's IMAP and SMTP included. For monitoring.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mailboxes import probes
from webmail.celery import app as celery_app


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    cache.set("healthz", "1", 10)
    if cache.get("healthz") != "1":
        raise RuntimeError("the cache does not keep what it is given")


def _broker() -> None:
    with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


LIVE: dict[str, Callable[[], None]] = {"database": _database, "redis": _redis}
READY: dict[str, Callable[[], None]] = {**LIVE, "broker": _broker, **probes.OPERATOR}


def _report(checks: dict[str, Callable[[], None]]) -> JsonResponse:
    results = {}
    for name, check in checks.items():
        try:
            check()
        except Exception:  # any failure means "down"; no detail leaks out
            results[name] = "error"
        else:
            results[name] = "ok"
    healthy = all(value == "ok" for value in results.values())
    return JsonResponse(results, status=200 if healthy else 503)


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    return _report(LIVE)


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    return _report(READY)
