# Shared by scripts/demo.sh and scripts/test.sh: install what is missing, start services.
# Sourced, not run. Everything is idempotent: a second run changes nothing.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
PY="$VENV/bin/python"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

debian_packages() {
  local wanted=(dovecot-imapd dovecot-lmtpd postfix gettext redis-server curl) missing=()
  for pkg in "${wanted[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  [ ${#missing[@]} -eq 0 ] && return
  log "installing Debian packages: ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || { echo "run as root to install packages (or install: ${missing[*]})" >&2; exit 1; }
  # Postfix asks a question at install time; we configure our own instance anyway.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The whole dependency tree from the hashed lock file (scripts/lock.sh writes it), then the
# project itself without resolving anything again. LOCK=requirements.lock for production.
python_env() {
  local python stamp="$VENV/.installed" want lock="$REPO/${LOCK:-requirements-dev.lock}"
  python="$(command -v python3.11 || command -v python3)"
  [ -x "$PY" ] || { log "creating $VENV with $python"; "$python" -m venv "$VENV"; }
  want="$(cat "$lock" "$REPO/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python dependencies from $(basename "$lock") (hashes checked)"
    # This machine's pip configuration names local indexes that may be absent: hush that.
    { "$PY" -m pip install -q --disable-pip-version-check --require-hashes -r "$lock" \
        && PYTHONWARNINGS=ignore "$PY" -m pip install -q --disable-pip-version-check --no-deps \
          -e "$REPO"; } 2>&1 \
      | { grep -v "^WARNING: Location 'file:" || true; }
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "installing from $lock failed" >&2; exit 1; }
    echo "$want" > "$stamp"
  fi
}

# npm ci in `dir` when its package-lock.json changed since the last install (a stamp file).
npm_env() {
  local dir="$1" what="$2" stamp want
  stamp="$dir/node_modules/.installed"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing $what (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
}

node_env() { npm_env "$REPO/scripts/psc-lookalike" "the Pro Santé Connect look-alike"; }

# axe-core (pinned in tests/axe/package-lock.json) for the accessibility tests.
axe_env() { npm_env "$REPO/tests/axe" "axe-core for the accessibility tests"; }

redis_up() {
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return
  log "starting Redis on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/webmail.log
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "Redis did not start" >&2; exit 1
}

postgres_up() {
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && return
  if ! command -v pg_ctlcluster >/dev/null; then
    debian_packages postgresql
  fi
  log "starting PostgreSQL"
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p 5432 -q && return; sleep 0.1; done
  echo "PostgreSQL did not start" >&2; exit 1
}

# start_psc NAME PORT REDIRECT_URI POST_LOGOUT_URI: the look-alike in the background.
start_psc() {
  local name="$1" port="$2" state="${TMPDIR:-/tmp}/mssante-psc-$1"
  mkdir -p "$state"
  stop_psc "$name"  # a previous run's provider may hold other secrets or redirect URIs
  if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
    echo "port $port is taken by a process this script did not start; stop it first" >&2
    exit 1
  fi
  log "starting the Pro Santé Connect look-alike on 127.0.0.1:$port"
  (cd "$REPO/scripts/psc-lookalike" && \
    PSC_PORT="$port" PSC_STATE_DIR="$state" PSC_REDIRECT_URIS="$3" \
    PSC_POST_LOGOUT_REDIRECT_URIS="$4" PSC_CLIENT_ID="$PSC_CLIENT_ID" \
    PSC_CLIENT_SECRET="$PSC_CLIENT_SECRET" \
    exec node server.mjs >"$state/psc.log" 2>&1) &
  echo $! > "$state/pid"
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  cat "$state/psc.log" >&2; echo "the look-alike did not start" >&2; exit 1
}

stop_psc() {
  local pidfile="${TMPDIR:-/tmp}/mssante-psc-$1/pid" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidfile"
}

# A secret kept next to the instance's state, created once (never in the repository).
instance_secret() {
  local file="${TMPDIR:-/tmp}/mssante-psc-$1/client.secret"
  mkdir -p "$(dirname "$file")"
  [ -s "$file" ] || (umask 077; "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$file")
  cat "$file"
}
