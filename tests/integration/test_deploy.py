"""The reference deployment (deploy/): every systemd unit's command starts on loopback against
the real services and does its job; the compose file runs the same commands (issue 17)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from mailboxes.mailcache import live as live_state
from mailboxes.models import Mailbox, SyncState, User
from tests.conftest import client_for
from tests.integration.helpers import wait_until
from tests.integration.processes import REPO, free_port, started, unit, write_credentials
from webmail.celery import app as celery_app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    return write_credentials(tmp_path / "credentials")


def test_the_web_unit_serves_the_site_behind_its_health_checks(
    credentials: Path, tmp_path: Path
) -> None:
    port = free_port()
    with started(
        "webmail-web.service",
        credentials,
        tmp_path,
        **{"127.0.0.1:8000": f"127.0.0.1:{port}", "--workers 4": "--workers 2"},
    ) as web:

        def live() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz/live", timeout=5).ok
            except requests.ConnectionError:
                return False

        assert wait_until(live, seconds=30), (tmp_path / "webmail-web.service.log").read_text()
        ready = requests.get(f"http://127.0.0.1:{port}/healthz/ready", timeout=10)
        assert ready.json() == {
            "database": "ok", "redis": "ok", "broker": "ok", "imap": "ok", "smtp": "ok"
        }  # fmt: skip
        login = requests.get(f"http://127.0.0.1:{port}/login/", timeout=10)
        assert login.status_code == 200 and "Pro Santé Connect" in login.text
        assert web.poll() is None


def test_the_events_unit_streams_new_versions_and_stops_promptly_with_streams_open(
    credentials: Path, tmp_path: Path, marie: User, marie_mailbox: Mailbox
) -> None:
    """The open lists' event streams (webmail/push.py) under the unit's uvicorn; a stop cuts
    the open streams after the unit's grace period instead of waiting for them for ever."""
    port = free_port()
    log = tmp_path / "webmail-events.service.log"
    with started(
        "webmail-events.service", credentials, tmp_path, **{"--port 8001": f"--port {port}"}
    ) as events:

        def live() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz/live", timeout=5).ok
            except requests.ConnectionError:
                return False

        assert wait_until(live, seconds=30), log.read_text()
        url = f"http://127.0.0.1:{port}/mailbox/{marie_mailbox.pk}/events/"
        version = live_state.version(marie_mailbox.pk)
        session = client_for(marie).cookies["sessionid"].value
        stream = requests.get(
            url,
            cookies={"sessionid": session},
            headers={"Last-Event-ID": str(version)},
            stream=True,
            timeout=10,
        )
        assert stream.status_code == 200, log.read_text()
        chunks = stream.iter_content(chunk_size=None)
        assert next(chunks).startswith(b"retry: ")
        live_state.bump(marie_mailbox.pk)
        assert (
            next(chunks) == f"id: {version + 1}\nevent: changed\ndata: {version + 1}\n\n".encode()
        )
        stopping = time.monotonic()
        events.send_signal(signal.SIGTERM)
        events.wait(timeout=20)
        assert time.monotonic() - stopping < 15  # --timeout-graceful-shutdown 5
        stream.close()
    # uvicorn ends by its signal once shut down; systemd counts a SIGTERM exit as clean.
    assert events.returncode in (0, -signal.SIGTERM), log.read_text()


def test_the_worker_units_take_each_their_own_queue(
    credentials: Path, tmp_path: Path, marie_mailbox: Mailbox
) -> None:
    queues = {}
    for name in (
        "webmail-worker-send.service",
        "webmail-worker-sync.service",
        "webmail-worker-celery.service",
    ):
        argv, environment = unit(name)
        queues[argv[argv.index("-Q") + 1]] = name
        assert environment["WEBMAIL_TASK_QUEUES"] == "true"
    assert set(queues) == {"send", "sync", "celery"}
    with started(queues["sync"], credentials, tmp_path, **{"%H": "deploytest"}):
        # Routed as the deployed site routes it (WEBMAIL_TASK_QUEUES): to "sync".
        celery_app.send_task("mailboxes.sync_mailbox", args=[marie_mailbox.pk], queue="sync")
        assert wait_until(
            lambda: SyncState.objects.filter(
                mailbox=marie_mailbox, finished_at__isnull=False
            ).exists(),
            seconds=60,
        ), (tmp_path / f"{queues['sync']}.log").read_text()[-3000:]


def test_the_deployed_site_routes_sending_apart_from_syncs(tmp_path: Path) -> None:
    code = (
        "from webmail.celery import app; r = app.amqp.router; "
        "print(r.route({}, 'mailboxes.send_outgoing')['queue'].name, "
        "r.route({}, 'mailboxes.sync_mailbox')['queue'].name, "
        "r.route({}, 'mailboxes.purge_audit_events')['queue'].name)"
    )
    env = {**os.environ, "WEBMAIL_TASK_QUEUES": "true", "WEBMAIL_DATA_DIR": str(tmp_path)}
    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.stdout.split() == ["send", "sync", "celery"], shown.stderr


def test_beat_and_the_watcher_shards_run_and_stop_cleanly(
    credentials: Path, tmp_path: Path
) -> None:
    schedule = tmp_path / "beat-schedule"
    with started(
        "webmail-beat.service",
        credentials,
        tmp_path,
        **{"/var/lib/webmail-beat/schedule": str(schedule)},
    ) as beat:
        assert wait_until(lambda: any(tmp_path.glob("beat-schedule*")), seconds=30)
        assert beat.poll() is None
    for shard in ("0", "1"):
        with started("webmail-watcher@.service", credentials, tmp_path, **{"%i": shard}) as watcher:
            time.sleep(3)
            assert watcher.poll() is None, (tmp_path / "webmail-watcher@.service.log").read_text()
        assert watcher.returncode == 0  # SIGTERM: stopped its watches and left


def test_compose_runs_the_units_commands() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    for name in (
        "webmail-worker-send.service",
        "webmail-worker-sync.service",
        "webmail-worker-celery.service",
    ):
        argv, _ = unit(name)
        queue = argv[argv.index("-Q") + 1]
        command = services[f"worker-{queue}"]["command"]
        assert command[:6] == ["celery", "-A", "webmail", "worker", "-Q", queue]
    web_argv, _ = unit("webmail-web.service")
    assert services["web"]["command"][:2] == [Path(web_argv[0]).name, web_argv[1]]
    events_argv, _ = unit("webmail-events.service")
    assert services["events"]["command"][:2] == [Path(events_argv[0]).name, events_argv[1]]
    assert "--timeout-graceful-shutdown" in services["events"]["command"]
    shards = sorted(s["command"][-1] for n, s in services.items() if n.startswith("watcher-"))
    assert shards == ["0/2", "1/2"]
    assert services["redis"]["command"][1:3] == ["--appendonly", "yes"]  # the queue survives
    # The web's own environment adds the metrics token to the shared one, not replaces it.
    web_env = services["web"]["environment"]
    assert web_env["WEBMAIL_METRICS_TOKEN_FILE"] == "/run/secrets/metrics-token"
    assert (
        web_env["DJANGO_SECRET_KEY_FILE"]
        == services["beat"]["environment"]["DJANGO_SECRET_KEY_FILE"]
    )
    assert "metrics-token" in services["web"]["secrets"] and "metrics-token" in compose["secrets"]
    assert services["web"]["command"][-2:] == web_argv[-2:]  # the same JSON logging for gunicorn
    # The image installs the locked tree, hashes checked, then the project without resolving.
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock" in dockerfile
    assert "--no-deps ." in dockerfile and "COPY deploy/gunicorn-logging.json" in dockerfile
