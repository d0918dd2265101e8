"""GET /metrics: the Prometheus exposition (webmail.metrics), for a scraper holding the
bearer token (WEBMAIL_METRICS_TOKEN or its _FILE) or a logged-in staff member. Anyone else:
401 without credentials, 403 with the wrong ones. The numbers are the whole site's (kept in
Redis), so any web node, or the load balancer, may be scraped."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from webmail import metrics as site_metrics


def _refusal(request: HttpRequest) -> HttpResponse | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = settings.WEBMAIL_METRICS_TOKEN
    if scheme.lower() == "bearer" and token:
        if expected and hmac.compare_digest(token.strip().encode(), expected.encode()):
            return None
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    if request.user.is_authenticated:
        if request.user.is_staff:
            return None
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    refused = HttpResponse("authentication required\n", status=401, content_type="text/plain")
    refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return refused


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if (refused := _refusal(request)) is not None:
        return refused
    body = generate_latest(site_metrics.registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
