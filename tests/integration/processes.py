"""The deployment's own processes (deploy/systemd units' commands), started on loopback
against the test services: for the deployment, logging, metrics and fault tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
BIN = Path(sys.executable).parent


def unit(name: str) -> tuple[list[str], dict[str, str]]:
    """A unit's ExecStart (as argv) and its Environment= settings."""
    text = (UNITS / name).read_text(encoding="utf-8")
    environment = dict(
        line.split("=", 2)[1:] for line in text.splitlines() if line.startswith("Environment=")
    )
    [command] = [
        line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ExecStart=")
    ]
    return command.split(), environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


METRICS_TOKEN = "metrics-scraper-test-token"


def write_credentials(folder: Path) -> Path:
    """What systemd's LoadCredential hands over (%d): this test run's own secrets."""
    folder.mkdir()
    (folder / "django-secret-key").write_text(settings.SECRET_KEY)
    from mailboxes import crypto

    # The key generated into the data folder, made now if no test made it before (a file
    # run alone).
    keys = settings.WEBMAIL_CREDENTIAL_KEYS or [crypto._local_key().decode()]
    (folder / "credential-keys").write_text(",".join(keys))
    (folder / "metrics-token").write_text(METRICS_TOKEN)
    return folder


def database_url() -> str:
    """The test database (committed rows: transaction=True), for the processes started."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def command(
    name: str, credentials: Path, env: dict[str, str] | None = None, **replace: str
) -> tuple[list[str], dict[str, str]]:
    """A unit's command and environment, as systemd would run it here."""
    argv, environment = unit(name)
    argv = [arg.replace("/opt/webmail/.venv/bin/", f"{BIN}/") for arg in argv]
    full = {**os.environ, **{k: v.replace("%d", str(credentials)) for k, v in environment.items()}}
    full["DATABASE_URL"] = database_url()
    full.pop("DJANGO_SECRET_KEY", None)
    full.pop("WEBMAIL_CREDENTIAL_KEYS", None)
    full.update(env or {})
    joined = " ".join(argv)
    for old, new in replace.items():
        joined = joined.replace(old, new)
    joined = re.sub(r"\$\{(\w+)\}", lambda m: full[m.group(1)], joined)
    return joined.split(), full


@contextmanager
def started(
    name: str,
    credentials: Path,
    tmp_path: Path,
    env: dict[str, str] | None = None,
    **replace: str,
) -> Iterator[subprocess.Popen[bytes]]:
    argv, full = command(name, credentials, env, **replace)
    log = (tmp_path / f"{name}.log").open("ab")
    # Its own process group: a fault test may kill it whole (kill -9), children included.
    process = subprocess.Popen(
        argv, cwd=REPO, env=full, stdout=log, stderr=log, start_new_session=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        finally:
            log.close()


class PrivateRedis:
    """A redis-server of a test's own, in a temporary folder, on a port it checks is free:
    the fault tests restart it (as a broker is restarted) without touching the suite's."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if port_taken(self.port):
            raise RuntimeError(
                f"port {self.port} is already taken by a process this test did not start"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "redis.log").open("ab")
        # No persistence: a restart loses every queued task, the worst case for the sweep.
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", str(self.folder), "--save", "", "--appendonly", "no"]  # fmt: skip
        self.process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10
        while not port_taken(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError((self.folder / "redis.log").read_text()[-2000:])
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Killed and started again: what a crashed broker without persistence comes back as."""
        self.stop(signal.SIGKILL)
        self.start()


def port_taken(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
