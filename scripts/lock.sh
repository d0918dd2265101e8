#!/usr/bin/env bash
# Writes the hashed lock files from pyproject.toml's dependencies, for this machine's Python
# 3.11: requirements.lock (what production installs) and requirements-dev.lock (that plus the
# dev extra: what scripts/test.sh and CI install). Run after changing a dependency; commit both.
# tests/test_lock_files.py fails while they disagree with pyproject.toml.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
"$PY" -m pip install -q pip-tools 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
common=(--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url
        --no-emit-find-links --no-emit-trusted-host --pip-args "--no-cache-dir")
"$PY" -m piptools compile "${common[@]}" -o requirements.lock pyproject.toml
"$PY" -m piptools compile "${common[@]}" --extra dev -o requirements-dev.lock pyproject.toml
log "requirements.lock and requirements-dev.lock written"
