#!/usr/bin/env bash
# Benchmarks of the metadata cache against a fresh local operator (ports 33000+), on
# PostgreSQL (database webmail_bench, made anew) and Redis; prints one JSON object.
# Environment: BENCH_MESSAGES (default 100000), BENCH_RUNS (default 100). Takes minutes.
# BENCH_ONLY=open_10k_parts_ms: that measure alone (seconds).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
debian_packages
python_env
postgres_up
redis_up

PORT_BASE=33000
export BENCH_OPERATOR_NAME=bench
export OPERATOR_MAIL_STORAGE="${OPERATOR_MAIL_STORAGE:-sdbox}"  # as large operators run
python3 scripts/operator_backend.py start --name bench --port-base "$PORT_BASE" --fresh >/dev/null
trap 'python3 scripts/operator_backend.py stop --name bench --port-base '"$PORT_BASE"' >/dev/null' EXIT
eval "$(python3 scripts/operator_backend.py env --name bench --port-base "$PORT_BASE")"
export WEBMAIL_DATA_DIR="${TMPDIR:-/tmp}/mssante-webmail-bench"
export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/webmail_bench}"
export CELERY_BROKER_URL="redis://127.0.0.1:6379/13"
export REDIS_URL="redis://127.0.0.1:6379/12"
export DJANGO_SECURE_COOKIES=false
redis-cli -n 13 flushdb >/dev/null
redis-cli -n 12 flushdb >/dev/null
if [[ "$DATABASE_URL" == postgres* ]]; then
  db_name="${DATABASE_URL##*/}"
  psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"$db_name\""
  psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$db_name\""
fi
"$PY" benchmarks/mailbox_cache.py
