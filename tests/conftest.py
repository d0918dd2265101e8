"""Fixtures: personas, the demo directory, and the real services started by scripts/test.sh."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import pytest
from django.conf import settings
from django.test import Client

from mailboxes.models import Mailbox, Structure, User
from webmail.auth import session
from webmail.demo import seed
from webmail.management.commands.seed_demo import wait_for_delivery

REPO = Path(__file__).resolve().parent.parent

# Property-based tests, bounded in the suite: few examples, the same ones every run (no
# example database to keep), no per-example deadline (the machine is shared). HYPOTHESIS_PROFILE=
# explore for a long search.
hypothesis.settings.register_profile(
    "suite", max_examples=40, deadline=None, derandomize=True, database=None, print_blob=True
)
hypothesis.settings.register_profile("explore", max_examples=5000, deadline=None, database=None)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
MARIE_SNID = "810101234567"  # the GP of the demo directory
KARIM_SNID = "810107654321"  # the cardiologist


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class OperatorBackend:
    """The real Dovecot + Postfix started by scripts/test.sh, with start/stop for tests."""

    args: list[str]

    def run(self, *command: str) -> None:
        script = str(REPO / "scripts" / "operator_backend.py")
        subprocess.run(
            [sys.executable, script, *command, *self.args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def stop(self, component: str) -> None:
        self.run("stop", component)

    def start(self, component: str) -> None:
        self.run("start", component)

    @property
    def root(self) -> Path:
        name = self.args[self.args.index("--name") + 1]
        return Path(tempfile.gettempdir()) / f"mssante-operator-{name}"

    def doveadm(self, *args: str) -> None:
        conf = self.root / "dovecot" / "dovecot.conf"
        subprocess.run(
            ["doveadm", "-c", str(conf), *args], check=True, capture_output=True, timeout=30
        )

    def add_user(self, address: str) -> None:
        """A new mailbox at the running operator (kept across its restarts)."""
        self.run("add-user", address)

    def kill_dovecot(self) -> None:
        """kill -9 of Dovecot, every process of it (a crash; no goodbye to any client)."""
        pid = int((self.root / "run" / "dovecot" / "master.pid").read_text().split()[0])
        os.killpg(pid, signal.SIGKILL)  # the master leads its own process group
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # gone (reaped), or Dovecot won't start again
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)


@pytest.fixture(scope="session")
def operator_backend() -> OperatorBackend:
    args = os.environ.get("OPERATOR_BACKEND_ARGS")
    if not args or not port_open(settings.OPERATOR_IMAP_PORT):
        pytest.fail("the operator backend is not running: run the suite with scripts/test.sh")
    return OperatorBackend(shlex.split(args))


@pytest.fixture(scope="session")
def demo_mail(operator_backend: OperatorBackend) -> None:
    """The demo messages, delivered once per session through Postfix's MX."""
    mailboxes = {m.address: m for m in _demo_mailboxes()}
    mx_port = int(os.environ["OPERATOR_MX_PORT"])
    seed.seed_mail(mailboxes, "127.0.0.1", mx_port)
    wait_for_delivery(mailboxes)


def _demo_mailboxes() -> list[Mailbox]:
    data = seed.identities()
    return [Mailbox(address=p["mailbox"]) for p in data["professionals"]] + [
        Mailbox(address=m["address"]) for m in data["organisational_mailboxes"]
    ]


@pytest.fixture
def directory(db: None) -> dict[str, Mailbox]:
    """The demo structures, professionals and mailboxes in the database."""
    return seed.seed_directory()


@pytest.fixture
def marie(directory: dict[str, Mailbox]) -> User:
    return User.objects.get(subject_name_id=MARIE_SNID)


@pytest.fixture
def karim(directory: dict[str, Mailbox]) -> User:
    return User.objects.get(subject_name_id=KARIM_SNID)


@pytest.fixture
def marie_mailbox(directory: dict[str, Mailbox]) -> Mailbox:
    return directory["marie.durand@operateur-a.mssante.test"]


@pytest.fixture
def karim_mailbox(directory: dict[str, Mailbox]) -> Mailbox:
    return directory["karim.benali@hopital-c.mssante.test"]


@pytest.fixture(autouse=True)
def _fresh_login_throttle() -> Iterator[None]:
    """Failed logins are counted in Redis across requests: each test starts from none. So
    are the receipt collection marks (a mailbox id is reused by the next test's database)."""
    from django.core.cache import cache

    client = cache._cache.get_client()  # type: ignore[attr-defined]
    for pattern in ("*login-failures*", "*webmail:receipts:seen:*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    yield


# --- Unit-test personas, no services needed -----------------------------------------------


@pytest.fixture
def alice(db: None) -> User:
    """Owns a personal mailbox."""
    user = User.objects.create_user("alice", subject_name_id="810000000001")
    Mailbox.objects.create(address="alice@operateur-a.mssante.test", kind="PER", owner=user)
    return user


@pytest.fixture
def charlie(db: None) -> User:
    """Has an account and no mailbox."""
    return User.objects.create_user("charlie", subject_name_id="810000000003")


@pytest.fixture
def pharmacy(db: None) -> Structure:
    return Structure.objects.create(name="Pharmacie test", kind="pharmacy", finess="750099999")


def client_for(user: User) -> Client:
    """A test client logged in as `user`, its session bound as a PSC login binds it."""
    client = Client()
    client.force_login(user)
    store = client.session
    now = time.time()
    store[session.IDENTITY] = {"method": session.PSC, "sub": "test", "snid": user.subject_name_id}
    store[session.STARTED] = store[session.SEEN] = now
    store.save()
    return client


@pytest.fixture
def live_url(live_server: object) -> Iterator[str]:
    yield str(live_server.url)  # type: ignore[attr-defined]
