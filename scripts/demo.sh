#!/usr/bin/env bash
# Set everything up on a fresh Debian machine and run the demo: the local MSSanté operator
# (Dovecot + Postfix), the Pro Santé Connect look-alike, Redis, the database, the demo
# directory and mail, a Celery worker and the web server. Ctrl-C stops the web server,
# the worker and the provider; the operator keeps running (stop it with
# `python3 scripts/operator_backend.py stop`).
# Environment: DEMO_ADDRESS (default 127.0.0.1:8000), DEMO_PORT_BASE (default 31000).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"

ADDRESS="${DEMO_ADDRESS:-127.0.0.1:8000}"
PORT_BASE="${DEMO_PORT_BASE:-31000}"
PSC_PORT=$((PORT_BASE + 80))

debian_packages
python_env
node_env
redis_up

export PSC_CLIENT_ID=webmail-demo
PSC_CLIENT_SECRET="$(instance_secret demo)"
export PSC_CLIENT_SECRET
export PSC_LOCAL_BASE_URL="http://127.0.0.1:$PSC_PORT"
export OPERATOR_INTROSPECTION_URL="http://$PSC_CLIENT_ID:$PSC_CLIENT_SECRET@127.0.0.1:$PSC_PORT/auth/realms/esante-wallet/protocol/openid-connect/token/introspect"

log "starting the local MSSanté operator (Dovecot + Postfix, ports ${PORT_BASE}+)"
python3 scripts/operator_backend.py start --name demo --port-base "$PORT_BASE" >/dev/null
eval "$(python3 scripts/operator_backend.py env --name demo --port-base "$PORT_BASE")"
start_psc demo "$PSC_PORT" "http://$ADDRESS/oidc/callback/" "http://$ADDRESS/login/"

export DJANGO_SECURE_COOKIES=false  # plain HTTP on loopback
export WEBMAIL_MSS_NIL="${WEBMAIL_MSS_NIL:-WEBMAIL-MSSANTE-DEMO}"  # X-MSS-NIL (CONF.16): required outside DEBUG
export WEBMAIL_SITE_URL="http://$ADDRESS"
export DJANGO_ALLOWED_HOSTS="${ADDRESS%:*},localhost,127.0.0.1"
# Invitations: shown on screen to the inviting manager, and written to var/sent-mail/.
export WEBMAIL_SHOW_INVITATION_LINKS=true
export EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend
export DOCUMENTS_ACCEPT_TEST_INS=true  # the demo's patients carry the INS test OID (X-MSS-INS: O)

log "preparing the database (SQLite in var/), translations, static files, demo data"
"$PY" manage.py migrate -v0
"$PY" manage.py compilemessages --ignore=.venv -v0
"$PY" manage.py collectstatic --noinput -v0
mkdir -p var
# The pharmacy's two secretaries: their invitation links are printed with the banner below.
"$PY" manage.py seed_demo | tee var/seed_demo.txt
# The trust list: a small synthetic one in the real format (the demo's domains and a few
# others), refreshed daily by the worker's beat from the same file.
export TRUSTLIST_SOURCE="$REPO/webmail/demo/listeblanche.xml" TRUSTLIST_MIN_DOMAINS=3
"$PY" manage.py refresh_trust_list
# The directory: a small extraction in the Annuaire Santé format (typing "card" in À offers
# Dr Karim BENALI and the cardiology service).
"$PY" manage.py import_annuaire webmail/demo/annuaire.txt
"$PY" manage.py sync_mailboxes --now

log "starting a Celery worker (log: var/celery.log)"
mkdir -p var
"$VENV/bin/celery" -A webmail worker --beat --loglevel=INFO --concurrency=2 \
  --schedule var/celerybeat-schedule >var/celery.log 2>&1 &
WORKER=$!
log "starting the IDLE watcher: new mail shows in open pages within seconds (log: var/watcher.log)"
"$PY" manage.py watch_mailboxes >var/watcher.log 2>&1 &
WATCHER=$!
trap 'kill $WORKER $WATCHER 2>/dev/null; stop_psc demo' EXIT

cat <<TXT

  MSSanté webmail demo: http://$ADDRESS/
  Log in with "Se connecter avec Pro Santé Connect", then pick a professional:
    - Dr Marie DURAND, médecin généraliste    marie.durand@operateur-a.mssante.test
    - Dr Karim BENALI, cardiologue            karim.benali@hopital-c.mssante.test
    - Jeanne LEFÈVRE, pharmacienne titulaire  jeanne.lefevre@operateur-a.mssante.test
  Staff without e-CPS: log in as Jeanne, "Inviter", give an e-mail address, open the link
  shown, choose a password and scan the QR code with an authenticator app (FreeOTP, Aegis…).
  Two secretaries of the pharmacy are ready to try triage in two browsers (a private window
  for the second): open each one's link, choose a password, scan the QR code, then log in
  under "Personnels sans e-CPS" and open the pharmacy's mailbox, "Triage".
$(sed -n '/^secretaries/,/^mail:/p' var/seed_demo.txt | grep -v '^mail:')
  Health: http://$ADDRESS/healthz     Stop: Ctrl-C

TXT
"$PY" manage.py runserver "$ADDRESS" --noreload
