#!/usr/bin/env bash
# Benchmarks against a fresh local operator (ports 33000+); prints one JSON object.
# Environment: BENCH_MESSAGES (default 2000), BENCH_RUNS (default 50).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
debian_packages
python_env

PORT_BASE=33000
python3 scripts/operator_backend.py start --name bench --port-base "$PORT_BASE" --fresh >/dev/null
trap 'python3 scripts/operator_backend.py stop --name bench --port-base '"$PORT_BASE"' >/dev/null' EXIT
eval "$(python3 scripts/operator_backend.py env --name bench --port-base "$PORT_BASE")"
export WEBMAIL_DATA_DIR="${TMPDIR:-/tmp}/mssante-webmail-bench"
"$PY" benchmarks/inbox_listing.py
