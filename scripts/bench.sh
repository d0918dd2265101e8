#!/usr/bin/env bash
# Benchmarks of the metadata cache against a fresh local operator (ports 33000+), on
# PostgreSQL (database webmail_bench, made anew) and Redis; prints one JSON object.
# Environment: BENCH_MESSAGES (default 100000), BENCH_RUNS (default 100). Takes minutes.
# BENCH_ONLY=open_10k_parts_ms: that measure alone (seconds); BENCH_ONLY=triage_assigned_to_me_p95_ms:
# the triage lists alone (benchmarks/triage_views.py); BENCH_ONLY=xdm_open_25mb_p95_ms (or any
# xdm_*/cda_* key): the health-document measures alone (benchmarks/documents.py); BENCH_ONLY=idle_tab_server_ms_per_min
# (or any idle_*/push_* key): an idle tab's server cost and the push latency (benchmarks/push.py);
# BENCH_ONLY=idle_triage_tab_server_ms_per_min: an idle conversation tab's (benchmarks/triage_views.py). Beside a running test suite:
# BENCH_NAME, BENCH_PORT_BASE and BENCH_REDIS_DB (cache; the next one is the broker).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
debian_packages
python_env
postgres_up
redis_up

PORT_BASE="${BENCH_PORT_BASE:-33000}"
NAME="${BENCH_NAME:-bench}"
REDIS_DB="${BENCH_REDIS_DB:-12}"
export BENCH_OPERATOR_NAME="$NAME"
export OPERATOR_MAIL_STORAGE="${OPERATOR_MAIL_STORAGE:-sdbox}"  # as large operators run
python3 scripts/operator_backend.py start --name "$NAME" --port-base "$PORT_BASE" --fresh >/dev/null
trap 'python3 scripts/operator_backend.py stop --name "$NAME" --port-base "$PORT_BASE" >/dev/null' EXIT
eval "$(python3 scripts/operator_backend.py env --name "$NAME" --port-base "$PORT_BASE")"
export WEBMAIL_DATA_DIR="${TMPDIR:-/tmp}/mssante-webmail-$NAME"
export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/webmail_${NAME}}"  # one per BENCH_NAME
export CELERY_BROKER_URL="redis://127.0.0.1:6379/$((REDIS_DB + 1))"
export REDIS_URL="redis://127.0.0.1:6379/$REDIS_DB"
export DJANGO_SECURE_COOKIES=false
export WEBMAIL_MSS_NIL="${WEBMAIL_MSS_NIL:-WEBMAIL-MSSANTE-BENCH}"
redis-cli -n $((REDIS_DB + 1)) flushdb >/dev/null
redis-cli -n "$REDIS_DB" flushdb >/dev/null
if [[ "$DATABASE_URL" == postgres* ]]; then
  db_name="${DATABASE_URL##*/}"
  psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"$db_name\""
  psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$db_name\""
fi
# Every benchmark prints one JSON object as its last line on stdout; they are merged into one.
merge() { "$PY" -c 'import json, sys; print(json.dumps({k: v for line in sys.stdin if line.startswith("{") for k, v in json.loads(line).items()}))'; }
case "${BENCH_ONLY:-}" in
  directory_* | autocomplete_*) benches=(benchmarks/directory_bench.py) ;;
  triage_* | idle_triage_*) benches=(benchmarks/triage_views.py) ;;
  xdm_* | cda_*) benches=(benchmarks/documents.py) ;;
  idle_* | push_*) benches=(benchmarks/push.py) ;;
  load_*) benches=(benchmarks/load.py) ;;
  "") benches=(benchmarks/mailbox_cache.py benchmarks/documents.py benchmarks/directory_bench.py benchmarks/triage_views.py benchmarks/push.py benchmarks/load.py) ;;
  *) benches=(benchmarks/mailbox_cache.py) ;;
esac
for bench in "${benches[@]}"; do "$PY" "$bench"; done | merge
