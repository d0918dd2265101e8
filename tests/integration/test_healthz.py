"""GET /healthz/live and /healthz/ready against the real database, Redis, broker, IMAP, SMTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from pytest_django import Settings

from tests.conftest import OperatorBackend

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ALL_OK = {"database": "ok", "redis": "ok", "broker": "ok", "imap": "ok", "smtp": "ok"}
LIVE_OK = {"database": "ok", "redis": "ok"}


@pytest.fixture
def stopped(operator_backend: OperatorBackend, request: pytest.FixtureRequest) -> Iterator[None]:
    component = request.param
    operator_backend.stop(component)
    try:
        yield
    finally:
        operator_backend.start(component)


@pytest.mark.parametrize("url", ["/healthz", "/healthz/ready"])
def test_it_reports_every_part_ok(operator_backend: OperatorBackend, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 200
    assert response.json() == ALL_OK
    assert Client().get("/healthz/live").json() == LIVE_OK
    assert settings.OPERATOR_MASTER_PASSWORD not in response.content.decode()


@pytest.mark.parametrize(
    ("stopped", "part"), [("postfix", "smtp"), ("dovecot", "imap")], indirect=["stopped"]
)
def test_it_names_the_part_that_is_down(stopped: None, part: str) -> None:
    response = Client().get("/healthz/ready")
    assert response.status_code == 503
    answer = response.json()
    if part == "imap":
        # Submission authenticates through the operator's own auth service (Dovecot's SASL,
        # asked for its mechanisms at EHLO): with Dovecot down it may fail too.
        assert answer.pop("smtp") in ("ok", "error")
        expected = {name: state for name, state in ALL_OK.items() if name != "smtp"}
        assert answer == {**expected, part: "error"}
    else:
        assert answer == {**ALL_OK, part: "error"}
    # Issue 17: the web node stays in its load balancer's rotation (pages serve the cache).
    live = Client().get("/healthz/live")
    assert live.status_code == 200 and live.json() == LIVE_OK


def test_it_reports_a_broker_that_is_down(
    operator_backend: OperatorBackend, settings: Settings
) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {**ALL_OK, "broker": "error"}
    assert Client().get("/healthz/live").status_code == 200


def test_live_reports_a_cache_that_is_down(settings: Settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = Client().get("/healthz/live")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "error"}
