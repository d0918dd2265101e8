from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from webmail.auth import psc
from webmail.env import env_bool, env_choice, env_int, env_list

REPO = Path(__file__).resolve().parents[2]


def test_it_reads_booleans_and_refuses_nonsense() -> None:
    assert env_bool("X", False, {"X": "yes"}) is True
    assert env_bool("X", True, {"X": "off"}) is False
    assert env_bool("X", True, {}) is True
    with pytest.raises(ImproperlyConfigured, match="X must be a boolean"):
        env_bool("X", False, {"X": "maybe"})


def test_it_reads_integers_with_a_floor() -> None:
    assert env_int("N", 5, {"N": "12"}) == 12
    assert env_int("N", 5, {}) == 5
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env_int("N", 5, {"N": "12s"})
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 5, {"N": "0"}, minimum=1)


def test_it_accepts_only_known_choices() -> None:
    assert env_choice("P", "local", ("local", "sandbox"), {"P": "SANDBOX"}) == "sandbox"
    with pytest.raises(ImproperlyConfigured, match="one of local, sandbox"):
        env_choice("P", "local", ("local", "sandbox"), {"P": "prod"})


def test_it_splits_lists() -> None:
    assert env_list("H", ["a"], {"H": " x.fr, y.fr ,"}) == ["x.fr", "y.fr"]
    assert env_list("H", ["a"], {}) == ["a"]


def test_it_knows_psc_endpoints_with_the_wallet_host_and_odd_discovery_name() -> None:
    prod = psc.endpoints_for("production", "")
    assert prod.issuer == "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"
    assert prod.authorization == "https://wallet.esw.esante.gouv.fr/auth"
    assert prod.discovery.endswith("/.well-known/wallet-openid-configuration")
    assert prod.token == prod.issuer + "/protocol/openid-connect/token"
    sandbox = psc.endpoints_for("sandbox", "")
    assert sandbox.authorization == "https://wallet.bas.psc.esante.gouv.fr/auth"
    local = psc.endpoints_for("local", "http://127.0.0.1:9/")
    assert local.issuer == "http://127.0.0.1:9/auth/realms/esante-wallet"
    assert local.jwks == local.issuer + "/protocol/openid-connect/certs"


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_runs_on_sqlite_with_no_environment_at_all(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "WEBMAIL_DATA_DIR": str(tmp_path)}
    migrated = run_manage(env, "migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    vendor = run_manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from django.db import connection; print(connection.vendor)",
    )
    assert vendor.stdout.strip() == "sqlite"
    assert (tmp_path / "webmail.sqlite3").exists()
    key = tmp_path / "secret_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_text()) >= 50


def test_it_fails_loudly_on_a_bad_value(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "WEBMAIL_DATA_DIR": str(tmp_path), "DJANGO_DEBUG": "oui"}
    result = run_manage(env, "check")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "WEBMAIL_DATA_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": "k" * 20 + "-production-only-9f3a1c7e5b2d4a6f8e0c1b3d5f7a9e2c4b6d8f0a",
        "DJANGO_ALLOWED_HOSTS": "webmail.exemple.fr",
        "DJANGO_BEHIND_TLS_PROXY": "true",
        "WEBMAIL_CREDENTIAL_KEYS": "rJ0n4gqB0cS2pYl6bL7m8c1i0y1t9QZ5x3w2v4u6t8s=",
        "WEBMAIL_MSS_NIL": "REF-CONVERGENCE-TEST",  # X-MSS-NIL (webmail.checks)
    }


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "WEBMAIL_CREDENTIAL_KEYS"])
def test_production_refuses_to_start_with_a_generated_secret(tmp_path: Path, missing: str) -> None:
    """Issue 17: generated secrets differ per machine, so two web nodes would disagree."""
    env = production_env(tmp_path)
    del env[missing]
    result = run_manage(env, "check")
    assert result.returncode != 0
    assert f"{missing} (or {missing}_FILE) must be set in production" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_secrets_can_come_from_files_never_from_both(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    key_file = tmp_path / "django-key"
    key_file.write_text(env.pop("DJANGO_SECRET_KEY") + "\n")
    code = "from django.conf import settings; print(len(settings.SECRET_KEY))"
    shown = run_manage(
        {**env, "DJANGO_SECRET_KEY_FILE": str(key_file)}, "shell", "--no-imports", "-c", code
    )
    assert shown.stdout.strip() == str(len(key_file.read_text().strip())), shown.stderr
    both = run_manage(
        {**env, "DJANGO_SECRET_KEY_FILE": str(key_file), "DJANGO_SECRET_KEY": "x" * 60}, "check"
    )
    assert "set DJANGO_SECRET_KEY or DJANGO_SECRET_KEY_FILE, not both" in both.stderr
    absent = run_manage({**env, "DJANGO_SECRET_KEY_FILE": str(tmp_path / "nope")}, "check")
    assert "DJANGO_SECRET_KEY_FILE: cannot read" in absent.stderr


def test_it_passes_djangos_deployment_checks_with_production_settings(tmp_path: Path) -> None:
    result = run_manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_hardens_cookies_and_transport_in_production(tmp_path: Path) -> None:
    shown = run_manage(
        production_env(tmp_path),
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME,"
        " s.SESSION_COOKIE_SECURE, s.SESSION_EXPIRE_AT_BROWSER_CLOSE, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_SSL_REDIRECT, s.X_FRAME_OPTIONS)",
    )
    assert shown.stdout.split() == [
        "__Host-sessionid", "__Host-csrftoken", "True", "True", "31536000", "True", "DENY"
    ], shown.stderr  # fmt: skip


@pytest.mark.django_db
def test_it_ends_the_session_cookie_with_the_browser() -> None:
    from django.test import Client
    from django.urls import reverse

    page = Client().get(reverse("oidc_authentication_init"))  # the session now holds a state
    morsel = page.cookies["sessionid"]
    assert morsel.value and not morsel["expires"] and not morsel["max-age"]


# Each write reads first, as most of ours do (a deferred transaction must then upgrade its
# lock, and SQLite answers "database is locked" at once, whatever the timeout).
WRITER = """
from django.db import transaction
from mailboxes.models import AuditEvent
for n in range(200):
    with transaction.atomic():
        AuditEvent.objects.filter(action="test.write").count()
        AuditEvent.objects.create(action="test.write", target=str(n))
"""


def test_it_lets_two_processes_write_to_the_embedded_sqlite_at_once(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "WEBMAIL_DATA_DIR": str(tmp_path)}
    assert run_manage(env, "migrate", "-v0").returncode == 0
    command = [sys.executable, "manage.py", "shell", "--no-imports", "-c", WRITER]
    writers = [
        subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    errors = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [w.returncode for w in writers] == [0, 0], "\n".join(errors)[-2000:]
    count = run_manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from mailboxes.models import AuditEvent; print(AuditEvent.objects.count())",
    )
    assert count.stdout.strip() == "400"


@pytest.mark.parametrize(
    ("broker", "locks"),
    [
        ("redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/3"),
        ("amqp://guest:guest@127.0.0.1:5672//", "redis://127.0.0.1:6379/7"),
    ],
)
def test_sync_locks_never_go_to_a_broker_that_is_not_redis(
    tmp_path: Path, broker: str, locks: str
) -> None:
    """Issue 17: with RabbitMQ as the broker the sync lock raised at once."""
    env = {
        "PATH": os.environ["PATH"],
        "WEBMAIL_DATA_DIR": str(tmp_path),
        "CELERY_BROKER_URL": broker,
        "REDIS_URL": "redis://127.0.0.1:6379/7",
    }
    code = "from django.conf import settings; print(settings.LOCKS_REDIS_URL)"
    shown = run_manage(env, "shell", "--no-imports", "-c", code)
    assert shown.stdout.strip() == locks, shown.stderr
