"""Logs and metrics of the deployed processes (deploy/systemd units' commands): JSON lines with
the request id, task and mailbox, never content; /metrics adding up every process's counts."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from mailboxes.models import Mailbox, Outgoing, User
from tests.conftest import client_for
from tests.integration.helpers import wait_until
from tests.integration.processes import METRICS_TOKEN, free_port, started, write_credentials
from webmail import metrics
from webmail.metrics import _client as redis_at

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SUBJECT = "Compte rendu opératoire LEGRAND Odile"
KARIM = "karim.benali@hopital-c.mssante.test"
JSON_LOGS = {"WEBMAIL_LOG_FORMAT": "json"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base: str) -> Samples:
    answer = requests.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def json_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_the_web_and_worker_log_json_lines_and_count_across_their_processes(
    tmp_path: Path, marie: User, marie_mailbox: Mailbox
) -> None:
    credentials = write_credentials(tmp_path / "credentials")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web_log = tmp_path / "webmail-web.service.log"
    worker_log = tmp_path / "webmail-worker-send.service.log"
    with (
        started(
            "webmail-web.service", credentials, tmp_path, JSON_LOGS,
            **{"127.0.0.1:8000": f"127.0.0.1:{port}", "--workers 4": "--workers 2"},
        ),
        started("webmail-worker-send.service", credentials, tmp_path, JSON_LOGS, **{"%H": "obs"}),
    ):  # fmt: skip

        def up() -> bool:
            try:
                return requests.get(f"{base}/healthz/live", timeout=5).ok
            except requests.ConnectionError:
                return False

        assert wait_until(up, seconds=30), web_log.read_text()[-3000:]
        time.sleep(metrics.FLUSH_SECONDS * 1.5)  # the probes' own counts reach Redis first
        before = scrape(base)

        # 40 requests at once: both gunicorn workers answer some, and the count is the sum.
        def hammer() -> None:
            for _ in range(5):
                assert requests.get(f"{base}/healthz/live", timeout=10).ok

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # A message composed through the web, sent by the worker of the "send" queue.
        browser = requests.Session()
        browser.cookies.set("sessionid", client_for(marie).cookies["sessionid"].value)
        compose = f"{base}/mailbox/{marie_mailbox.pk}/compose/"
        form = browser.get(compose, timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, form.text[:2000]
        fields = {"to": KARIM, "subject": SUBJECT, "text": "Suites simples.",
                  "from_mailbox": str(marie_mailbox.pk), "csrfmiddlewaretoken": token.group(1)}  # fmt: skip
        posted = browser.post(
            compose, fields, headers={"X-Request-ID": "lb-4f2d9e-compose"},
            allow_redirects=False, timeout=30,
        )  # fmt: skip
        assert posted.status_code == 302, posted.text[:2000]
        assert posted.headers["X-Request-ID"] == "lb-4f2d9e-compose"
        outgoing = Outgoing.objects.get()
        sent_ok = {"task": "mailboxes.send_outgoing", "state": "SUCCESS"}

        live_200 = {"view": "healthz-live", "status": "200"}
        counted = "webmail_http_requests_total"

        def task_counted() -> Samples | None:
            """The task counted, and the 40 requests: each web process adds its requests'
            counts within a second (webmail/metrics.py's buffer)."""
            now = scrape(base)
            done = value(now, "webmail_tasks_total", **sent_ok)
            served = value(now, counted, **live_200) - value(before, counted, **live_200)
            task_done = done - value(before, "webmail_tasks_total", **sent_ok) >= 1
            return now if task_done and served >= 40 else None

        after = wait_until(task_counted, seconds=60)
        assert after, worker_log.read_text()[-3000:]
        assert isinstance(after, dict)
        assert Outgoing.objects.get(pk=outgoing.pk).status == Outgoing.Status.SENT
    try:
        assert value(after, counted, **live_200) - value(before, counted, **live_200) == 40
        compose_302 = {"view": "mail-compose", "status": "302"}
        assert value(after, "webmail_http_request_duration_seconds_count", **compose_302) >= 1
        assert value(after, "webmail_tasks_total", **sent_ok) - value(
            before, "webmail_tasks_total", **sent_ok
        ) == 1  # fmt: skip
        assert value(after, "webmail_task_duration_seconds_bucket", **sent_ok, le="+Inf") >= 1
        assert value(after, "webmail_outbox_messages", status="sent") == 1
        # The copy in Sent asked for a sync, on the "sync" queue no worker here takes.
        assert value(after, "webmail_queue_length", queue="sync") >= 1
        assert ("webmail_queue_length", (("queue", "send"),)) in after

        web, worker = json_lines(web_log), json_lines(worker_log)
        # gunicorn's own lines are JSON too (deploy/gunicorn-logging.json).
        assert all(line.startswith("{") for line in web_log.read_text().splitlines() if line)
        hits = [
            e for e in web if e.get("view") == "healthz-live" and e["logger"] == "webmail.request"
        ]
        assert len({e["process"] for e in hits}) == 2  # both workers answered
        during = [e for e in web if e.get("request_id") == "lb-4f2d9e-compose"]
        [line] = [e for e in during if e["logger"] == "webmail.request" and e["method"] == "POST"]
        assert (line["view"], line["status"], line["mailbox_id"]) == (
            "mail-compose",
            302,
            marie_mailbox.pk,
        )
        assert any(e["logger"] == "mailboxes.audit" for e in during)  # the queued message's audit
        assert all(e["mailbox_id"] == marie_mailbox.pk for e in during)
        in_task = [e for e in worker if e.get("task") == "mailboxes.send_outgoing"]
        assert any(e["logger"] == "mailboxes.audit" for e in in_task), worker[-10:]
        assert all(e["task_id"] and e["mailbox_id"] == marie_mailbox.pk for e in in_task)
        for text in (web_log.read_text(), worker_log.read_text()):
            assert SUBJECT not in text and "Suites simples" not in text
            assert "karim.benali" not in text and "marie.durand" not in text
    finally:
        redis_at(settings.CELERY_BROKER_URL).delete("sync", "send")  # nothing left for others
