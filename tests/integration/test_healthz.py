"""GET /healthz against the real database, broker, IMAP and SMTP servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from pytest_django import Settings

from tests.conftest import OperatorBackend

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ALL_OK = {"database": "ok", "broker": "ok", "imap": "ok", "smtp": "ok"}


@pytest.fixture
def stopped(operator_backend: OperatorBackend, request: pytest.FixtureRequest) -> Iterator[None]:
    component = request.param
    operator_backend.stop(component)
    try:
        yield
    finally:
        operator_backend.start(component)


def test_it_reports_every_part_ok(operator_backend: OperatorBackend) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == ALL_OK
    assert settings.OPERATOR_MASTER_PASSWORD not in response.content.decode()


@pytest.mark.parametrize(
    ("stopped", "part"), [("postfix", "smtp"), ("dovecot", "imap")], indirect=["stopped"]
)
def test_it_names_the_part_that_is_down(stopped: None, part: str) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {**ALL_OK, part: "error"}


def test_it_reports_a_broker_that_is_down(
    operator_backend: OperatorBackend, settings: Settings
) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {**ALL_OK, "broker": "error"}
