#!/usr/bin/env bash
# The whole test suite: lint, types, import rules, migrations check, then pytest against real Dovecot, Postfix,
# PostgreSQL, Redis and the Pro Santé Connect look-alike, all started here.
# Usage: scripts/test.sh [pytest arguments]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

debian_packages chromium
python_env
node_env
axe_env
postgres_up
redis_up

log "ruff check / ruff format --check"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
log "mypy (django-stubs, strict) and import-linter (the import rules of ARCHITECTURE.md)"
"$VENV/bin/mypy"
"$VENV/bin/lint-imports" --no-cache >/dev/null || "$VENV/bin/lint-imports" --no-cache

# The test instances use their own ports (base 32000) and folders: a running demo is safe.
# TEST_INSTANCE=name TEST_PORT_BASE=N TEST_REDIS_DB=N run a second suite beside the first
# (another work tree, say): its own operator, provider, ports, Redis databases and database.
INSTANCE="${TEST_INSTANCE:-test}"
PORT_BASE="${TEST_PORT_BASE:-32000}"
REDIS_DB="${TEST_REDIS_DB:-14}"  # this one for the cache, the next for the broker
export PSC_CLIENT_ID=webmail-test
PSC_CLIENT_SECRET="$(instance_secret "$INSTANCE")"
export PSC_CLIENT_SECRET
PSC_PORT=$((PORT_BASE + 80))
export PSC_LOCAL_BASE_URL="http://127.0.0.1:$PSC_PORT"
# Dovecot checks XOAUTH2 tokens at the look-alike, as an operator does at PSC.
export OPERATOR_INTROSPECTION_URL="http://$PSC_CLIENT_ID:$PSC_CLIENT_SECRET@127.0.0.1:$PSC_PORT/auth/realms/esante-wallet/protocol/openid-connect/token/introspect"

log "starting the test operator backend (Dovecot + Postfix, ports ${PORT_BASE}+)"
python3 scripts/operator_backend.py start --name "$INSTANCE" --port-base "$PORT_BASE" --fresh >/dev/null
eval "$(python3 scripts/operator_backend.py env --name "$INSTANCE" --port-base "$PORT_BASE")"
export OPERATOR_BACKEND_ARGS="--name $INSTANCE --port-base $PORT_BASE"
export LIVE_SERVER="127.0.0.1:$((PORT_BASE + 800))"
export PSC_TEST_FAULTS=1  # lets tests make the provider misbehave on purpose
export TRUSTLIST_REFRESH_AT_START=false  # the tests' workers never fetch the ANS's list
stop_psc "$INSTANCE"
start_psc "$INSTANCE" "$PSC_PORT" "http://$LIVE_SERVER/oidc/callback/" "http://$LIVE_SERVER/login/"
trap 'stop_psc "$INSTANCE"; python3 scripts/operator_backend.py stop $OPERATOR_BACKEND_ARGS >/dev/null' EXIT

db_suffix="${INSTANCE#test}"
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/webmail${db_suffix}}"
export CELERY_BROKER_URL="redis://127.0.0.1:6379/$((REDIS_DB + 1))"
export REDIS_URL="redis://127.0.0.1:6379/$REDIS_DB"
redis-cli -n $((REDIS_DB + 1)) flushdb >/dev/null  # no task, lock, version or cached page of an earlier run
redis-cli -n "$REDIS_DB" flushdb >/dev/null
export WEBMAIL_DATA_DIR="${TMPDIR:-/tmp}/mssante-webmail-$INSTANCE"
export DJANGO_SECURE_COOKIES=false
export WEBMAIL_MSS_NIL="${WEBMAIL_MSS_NIL:-WEBMAIL-MSSANTE-TEST}"  # X-MSS-NIL (CONF.16): required outside DEBUG
export DATABASE_CONN_MAX_AGE=0  # the live server thread must not keep the test database open

db_name="${DATABASE_URL##*/}"
psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" \
  | grep -q 1 || psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$db_name\""

log "makemigrations --check, compilemessages, collectstatic"
"$PY" manage.py makemigrations --check --dry-run >/dev/null
"$PY" manage.py compilemessages --ignore=.venv -v0
"$PY" manage.py collectstatic --noinput -v0

log "pytest"
"$PY" -m pytest --liveserver "$LIVE_SERVER" "$@"

log "pytest on SQLite, the embedded default: the tests whose engines differ (search, sync)"
DATABASE_URL="sqlite:///$WEBMAIL_DATA_DIR/test.sqlite3" "$PY" -m pytest -q -m both_engines
