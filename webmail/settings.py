"""Settings for the MSSanté webmail, read from the environment (12-factor).

With no environment at all the site runs on SQLite with a local operator and the local
Pro Santé Connect look-alike (see README.md, "Configuration").
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from webmail.auth import psc
from webmail.env import env_bool, env_choice, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("WEBMAIL_DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
# Production (behind the TLS proxy, or talking to the real Pro Santé Connect): every secret and
# key must be given. Generated ones differ from machine to machine, so two web nodes would
# disagree about sessions, signed links and encrypted credentials.
PRODUCTION = env_bool(
    "WEBMAIL_PRODUCTION",
    env_bool("DJANGO_BEHIND_TLS_PROXY", False)
    or env_str("PSC_ENVIRONMENT", "local").strip().lower() == "production",
)


def _required_in_production(name: str, value: object) -> None:
    if PRODUCTION and not value:
        raise ImproperlyConfigured(
            f"{name} (or {name}_FILE) must be set in production (WEBMAIL_PRODUCTION)"
        )


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, else a random key kept in DATA_DIR (never in the repository)."""
    if key := env_secret("DJANGO_SECRET_KEY"):
        return key
    _required_in_production("DJANGO_SECRET_KEY", "")
    path = DATA_DIR / "secret_key"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as f:  # "x": two processes never both write
            f.write(secrets.token_urlsafe(50))
        path.chmod(0o600)
    except FileExistsError:
        pass
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: delete it or set DJANGO_SECRET_KEY")
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("WEBMAIL_SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "mozilla_django_oidc",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "mailboxes",
    "documents",
    "directory",
    "triage",
    "webmail",
]

MIDDLEWARE = [
    # First: every line logged while a request is served carries its id, and its time is
    # the whole request's (webmail/observability.py).
    "webmail.observability.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files: answered here, cached
    "webmail.auth.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "webmail.auth.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "webmail.auth.middleware.MethodNotAllowedPageMiddleware",
]

# Every page: our own scripts, styles and images only (no inline script or style: htmx's
# indicator style is turned off in base.html). The reader's body frame and attachments send
# their own stricter policy, which the middleware leaves alone (webmail/views/reader.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "frame-src": [SELF],  # the message body, in a sandboxed frame
        "frame-ancestors": [NONE],  # no page of ours is framed, only the body (own policy)
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

ROOT_URLCONF = "webmail.urls"
WSGI_APPLICATION = "webmail.wsgi.application"
AUTH_USER_MODEL = "mailboxes.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "webmail.context_processors.navigation",
                "webmail.context_processors.trust_list",
            ],
        },
    },
]

# --- Database: SQLite by default, anything else through DATABASE_URL ----------------------
DATABASES = {
    "default": environ.Env.db_url_config(
        env_secret("DATABASE_URL", f"sqlite:///{DATA_DIR / 'webmail.sqlite3'}")
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the worker write at once. WAL lets readers run beside the writer;
    # IMMEDIATE takes the write lock at BEGIN, so a transaction that reads then writes waits
    # its turn (busy timeout, seconds) instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20, minimum=1),
        }
    )
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Cache and sessions: Redis -------------------------------------------------------------
# Sessions hold Pro Santé Connect's tokens (never stored anywhere else, MSSanté CONF.28):
# they live in Redis, server-side, never in the database.
REDIS_URL = env_secret("REDIS_URL", "redis://127.0.0.1:6379/1")
CACHES = {
    "default": {
        "BACKEND": "webmail.cachebackend.RedisCache",  # one client per pool (cachebackend.py)
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "webmail",
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

# --- Internationalisation: French first -----------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "webmail" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Lax, not Strict: the OIDC callback is a cross-site navigation (mozilla-django-oidc #497).
SESSION_COOKIE_SAMESITE = "Lax"
# The session cookie ends with the browser (a shared computer in a practice), on top of the
# idle lock and the absolute limit below.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if SESSION_COOKIE_SECURE:
    # __Host-: only over HTTPS, for this exact host and path /: neither a sibling sub-domain
    # nor a plain-HTTP page can set or shadow them (RFC 6265bis §4.1.3.2).
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
# Absolute session limit, and the idle lock (SC.SSI/IE.58 asks for at most 2 hours).
WEBMAIL_SESSION_MAX_AGE = env_int("WEBMAIL_SESSION_MAX_AGE", 12 * 3600, minimum=60)
WEBMAIL_IDLE_TIMEOUT = env_int("WEBMAIL_IDLE_TIMEOUT", 30 * 60, minimum=60)
SESSION_COOKIE_AGE = WEBMAIL_SESSION_MAX_AGE
X_FRAME_OPTIONS = "DENY"  # only the reader's body frame and parts allow our own pages
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz(/live|/ready)?$"]  # load balancers probe over plain HTTP
    # HSTS: browsers then refuse plain HTTP to this host for a year.
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

# --- Authentication: Pro Santé Connect (OIDC) ---------------------------------------------
AUTHENTICATION_BACKENDS = [
    "webmail.auth.oidc.ProSanteConnectBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "auth-login"
LOGIN_REDIRECT_URL = "mail-home"
LOGOUT_REDIRECT_URL = "auth-login"

PSC_ENVIRONMENT = env_choice("PSC_ENVIRONMENT", "local", ("local", "sandbox", "production"))
PSC_ENDPOINTS = psc.endpoints_for(
    PSC_ENVIRONMENT, env_str("PSC_LOCAL_BASE_URL", "http://127.0.0.1:31080")
)
PSC_REQUIRED_ACR = env_str("PSC_REQUIRED_ACR", "eidas1")
OIDC_RP_CLIENT_ID = env_str("PSC_CLIENT_ID", "webmail-mssante")
OIDC_RP_CLIENT_SECRET = env_secret("PSC_CLIENT_SECRET")
if PSC_ENVIRONMENT != "local" and not OIDC_RP_CLIENT_SECRET:
    raise ImproperlyConfigured(
        f"PSC_CLIENT_SECRET (or PSC_CLIENT_SECRET_FILE) is needed for {PSC_ENVIRONMENT}"
    )
# PSC signs with keys from its JWKS (RS256, ES256), or with the client secret (HS256) when the
# client is registered so: HS256 only if named here (a leaked secret would forge tokens).
PSC_SIGN_ALGS = env_list("PSC_SIGN_ALGS", ["RS256", "ES256"])
# PSC answers userinfo as a signed JWT for clients registered so: a plain JSON answer is then
# a downgrade and refused. False only for a client registered for JSON userinfo.
PSC_USERINFO_SIGNED = env_bool("PSC_USERINFO_SIGNED", True)
if unknown := set(PSC_SIGN_ALGS) - {"RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "HS256"}:
    raise ImproperlyConfigured(f"PSC_SIGN_ALGS: unsupported algorithm(s) {sorted(unknown)}")
OIDC_RP_SIGN_ALGO = PSC_SIGN_ALGS[0]  # the library wants one; our backend accepts the list
OIDC_RP_SCOPES = "openid scope_all"
OIDC_OP_AUTHORIZATION_ENDPOINT = PSC_ENDPOINTS.authorization
OIDC_OP_TOKEN_ENDPOINT = PSC_ENDPOINTS.token
OIDC_OP_USER_ENDPOINT = PSC_ENDPOINTS.userinfo
OIDC_OP_JWKS_ENDPOINT = PSC_ENDPOINTS.jwks
OIDC_OP_LOGOUT_ENDPOINT = PSC_ENDPOINTS.end_session
# Logging out posts to us, and we redirect to PSC's end_session: Chromium holds a form's
# redirects to form-action too, so PSC's origin must be there or PSC's session stays open.
_psc_logout = urlsplit(OIDC_OP_LOGOUT_ENDPOINT)
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = [
    SELF,
    f"{_psc_logout.scheme}://{_psc_logout.netloc}",
]
OIDC_OP_ISSUER = PSC_ENDPOINTS.issuer
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TOKEN_USE_BASIC_AUTH = True
OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"acr_values": PSC_REQUIRED_ACR}
OIDC_CREATE_USER = True
OIDC_VERIFY_SSL = True
OIDC_TIMEOUT = env_int("PSC_TIMEOUT", 10, minimum=1)
OIDC_CALLBACK_CLASS = "webmail.auth.views.PSCCallbackView"
OIDC_AUTHENTICATE_CLASS = "webmail.auth.views.PSCRequestView"

# --- The MSSanté operator (IMAP + SMTP) -----------------------------------------------------
OPERATOR_IMAP_HOST = env_str("OPERATOR_IMAP_HOST", "127.0.0.1")
OPERATOR_IMAP_PORT = env_int("OPERATOR_IMAP_PORT", 31143, minimum=1)
OPERATOR_IMAP_SECURITY = env_choice("OPERATOR_IMAP_SECURITY", "none", ("none", "starttls", "tls"))
OPERATOR_SMTP_HOST = env_str("OPERATOR_SMTP_HOST", "127.0.0.1")
OPERATOR_SMTP_PORT = env_int("OPERATOR_SMTP_PORT", 31587, minimum=1)
OPERATOR_SMTP_SECURITY = env_choice("OPERATOR_SMTP_SECURITY", "none", ("none", "starttls", "tls"))
OPERATOR_MASTER_USER = env_str("OPERATOR_MASTER_USER", "webmail")
OPERATOR_MASTER_PASSWORD = env_secret("OPERATOR_MASTER_PASSWORD")
OPERATOR_TIMEOUT = env_int("OPERATOR_TIMEOUT", 10, minimum=1)
# The From of the operator's own delivery reports (DSN); reports from anyone else are
# ignored. The default is what the local operator's Postfix sends as (its myhostname).
OPERATOR_REPORTING_ADDRESSES = [
    address.lower()
    for address in env_list(
        "OPERATOR_REPORTING_ADDRESSES", ["MAILER-DAEMON@mx.operateur-a.mssante.test"]
    )
]
# RCPT (c): the From domains of Mon espace santé's bounces. Believed (like an MDN: on the
# From) only about patient addresses the message was written to.
MES_REPORTING_DOMAINS = [
    domain.lower() for domain in env_list("MES_REPORTING_DOMAINS", ["patient.mssante.fr"])
]
# Where delivery and read reports go once matched to a sent message and good news (the
# sent message shows "Remis à… / Lu par…"): filed there, read, out of INBOX. Empty: they
# stay in INBOX, marked read. A failure report always stays in INBOX, unread.
WEBMAIL_RECEIPTS_FOLDER = env_str("WEBMAIL_RECEIPTS_FOLDER", "Accusés de réception")
# How to authenticate for a mailbox unless the mailbox says otherwise (strategies.py).
OPERATOR_ACCESS_STRATEGY = env_choice(
    "OPERATOR_ACCESS_STRATEGY", "master", ("master", "xoauth2", "credential")
)
WEBMAIL_CREDENTIAL_KEYS = [
    key.strip() for key in env_secret("WEBMAIL_CREDENTIAL_KEYS").split(",") if key.strip()
]
_required_in_production("WEBMAIL_CREDENTIAL_KEYS", WEBMAIL_CREDENTIAL_KEYS)
if (
    not DEBUG
    and OPERATOR_IMAP_SECURITY == "none"
    and OPERATOR_IMAP_HOST not in ("127.0.0.1", "localhost")
):
    raise ImproperlyConfigured("OPERATOR_IMAP_SECURITY=none is only allowed on loopback")

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
# The per-mailbox sync locks: a Redis that does not evict keys. With a Redis broker, that one;
# with another broker (RabbitMQ), REDIS_URL unless told otherwise.
LOCKS_REDIS_URL = env_str(
    "LOCKS_REDIS_URL",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else REDIS_URL,
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Above the longest retry delay (mailboxes.actions.sending.LONGEST_RETRY): a task waiting for
# its retry time is not handed to a second worker meanwhile. A task lost anyway is queued
# again by the sweep (sweep_interrupted_sends).
# A mailbox's sync lock: renewed every third of this while the sync runs, so a worker killed
# mid-sync holds the mailbox this long at most.
WEBMAIL_SYNC_LOCK_SECONDS = env_int("WEBMAIL_SYNC_LOCK_SECONDS", 60)
# Separate queues (WEBMAIL_TASK_QUEUES=true; deploy/): sending on "send", syncs and receipts
# on "sync", the rest on "celery", so a big first sync never delays a message leaving. Each
# worker then names its queues (`celery -A webmail worker -Q send`). Off: one queue, as in the
# demo and the tests.
if env_bool("WEBMAIL_TASK_QUEUES", False):
    CELERY_TASK_ROUTES = {
        "mailboxes.send_outgoing": {"queue": "send"},
        "mailboxes.retry_sent_copies": {"queue": "send"},
        "mailboxes.sync_mailbox": {"queue": "sync"},
        "mailboxes.collect_receipts": {"queue": "sync"},
        "documents.*": {"queue": "sync"},
    }
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600 + 600}
# The workers log through LOGGING above (JSON lines included), not Celery's own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Audit trail --------------------------------------------------------------------------
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 183, minimum=1)  # Ref#2 §5: 6 months

# --- Logging: never a body, a subject or a patient identity -------------------------------
# json: one JSON object per line with the request id, the Celery task and the mailbox id
# (webmail/logs.py); plain: for a terminal.
WEBMAIL_LOG_FORMAT = env_choice("WEBMAIL_LOG_FORMAT", "plain", ("plain", "json"))
# One line per request (method, view name, status, time; never the path: it holds UIDs and
# folder names). On with json, where it replaces gunicorn's access log (deploy/).
WEBMAIL_LOG_REQUESTS = env_bool("WEBMAIL_LOG_REQUESTS", WEBMAIL_LOG_FORMAT == "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "webmail.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "webmail.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": WEBMAIL_LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # mozilla-django-oidc logs token payloads at DEBUG.
        "mozilla_django_oidc": {"level": "WARNING"},
        # imaplib's debug output would carry message contents.
        "imapclient": {"level": "WARNING"},
    },
}

# --- Metrics (GET /metrics, Prometheus; webmail/metrics.py) ---------------------------------
# Counted in Redis so that every process adds to the same numbers: by default the locks'
# Redis (never evicted), else any Redis all web and worker processes reach.
WEBMAIL_METRICS = env_bool("WEBMAIL_METRICS", True)
WEBMAIL_METRICS_REDIS_URL = env_secret("WEBMAIL_METRICS_REDIS_URL", LOCKS_REDIS_URL)
# The scraper's bearer token (or WEBMAIL_METRICS_TOKEN_FILE); without it only staff members
# logged in may read /metrics.
WEBMAIL_METRICS_TOKEN = env_secret("WEBMAIL_METRICS_TOKEN")

# --- Local accounts (password + one-time code) ----------------------------------------------
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Messagerie MSSanté")
WEBMAIL_INVITATION_DAYS = env_int("WEBMAIL_INVITATION_DAYS", 7, minimum=1)
# Login throttling (webmail/auth/throttle.py): failures per account name and client address
# lock that name from that address; failures per address, across names, block the address.
WEBMAIL_LOGIN_MAX_FAILURES = env_int("WEBMAIL_LOGIN_MAX_FAILURES", 5, minimum=1)
WEBMAIL_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int(
    "WEBMAIL_LOGIN_MAX_FAILURES_PER_ADDRESS", 50, minimum=1
)
WEBMAIL_LOGIN_LOCK_MINUTES = env_int("WEBMAIL_LOGIN_LOCK_MINUTES", 15, minimum=1)
# Show the invitation link to the person who invites (demo: no real mailbox to read it).
WEBMAIL_SHOW_INVITATION_LINKS = env_bool("WEBMAIL_SHOW_INVITATION_LINKS", DEBUG)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Outgoing e-mail of the site itself (invitations; never health data) -------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = str(DATA_DIR / "sent-mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "webmail@localhost")
# Triage: being assigned or mentioned is also told by e-mail (who and which mailbox only).
WEBMAIL_TRIAGE_EMAIL = env_bool("WEBMAIL_TRIAGE_EMAIL", False)

# --- Sending ----------------------------------------------------------------------------------
WEBMAIL_SEND_RETRY_SECONDS = env_int("WEBMAIL_SEND_RETRY_SECONDS", 30, minimum=1)
WEBMAIL_SEND_MAX_ATTEMPTS = env_int("WEBMAIL_SEND_MAX_ATTEMPTS", 10, minimum=1)
WEBMAIL_MAX_UPLOAD_BYTES = env_int("WEBMAIL_MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1024)
# The form's fields (not its files) are read into memory: the text of a long reply fits.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Files: capped first (refused as soon as they cannot be sent), then to a temporary file,
# never to memory (see webmail/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "webmail.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# A message opened in the reader is kept this long in Redis for its body frame, images and
# attachments (one fetch from the operator instead of one per part), up to this size.
WEBMAIL_BODY_CACHE_BYTES = env_int("WEBMAIL_BODY_CACHE_BYTES", 2 * 1024 * 1024, minimum=0)
WEBMAIL_BODY_CACHE_SECONDS = env_int("WEBMAIL_BODY_CACHE_SECONDS", 600, minimum=0)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- The open list's live updates (webmail/push.py) ------------------------------------------
# A tab keeps one Server-Sent Events stream open, served by the ASGI events server (deploy/):
# a comment every HEARTBEAT seconds keeps proxies from closing it, and asks for the mailbox's
# background sync as the list's poll used to. A stream ends after MAX seconds at most, or when
# the session must be checked again (webmail.auth.session.next_check); the browser reconnects
# after about RETRY_MS. Without the stream (no EventSource, the events server unreachable) the
# list asks every FALLBACK seconds.
WEBMAIL_EVENTS_HEARTBEAT_SECONDS = env_int("WEBMAIL_EVENTS_HEARTBEAT_SECONDS", 25, minimum=1)
WEBMAIL_EVENTS_MAX_SECONDS = env_int("WEBMAIL_EVENTS_MAX_SECONDS", 15 * 60, minimum=10)
WEBMAIL_EVENTS_RETRY_MS = env_int("WEBMAIL_EVENTS_RETRY_MS", 2000, minimum=100)
# The events server sets up at most this many requests at once, each with a database
# connection until its stream starts (webmail/asgi_limits.py): keep it well under PostgreSQL's
# max_connections (or the pooler's pool) minus what the web processes and workers hold.
WEBMAIL_EVENTS_STARTING = env_int("WEBMAIL_EVENTS_STARTING", 16, minimum=1)
WEBMAIL_LIVE_FALLBACK_SECONDS = env_int("WEBMAIL_LIVE_FALLBACK_SECONDS", 60, minimum=1)

# --- Trust list (directory/, CONFORMANCE.md TL1–TL6) ---------------------------------------
# A file path or an https URL; fetched daily by beat (`manage.py refresh_trust_list`).
TRUSTLIST_SOURCE = env_str(
    "TRUSTLIST_SOURCE", "https://espacedeconfiance.mssante.fr/listeblanchemssante.xml"
)
# The SHA-256 `checksum` file (URL or path) published beside the list by the GitHub mirror
# ansforge/MSS-liste-blanche, when that mirror is the source (TL1); empty: no check.
TRUSTLIST_CHECKSUM_SOURCE = env_str("TRUSTLIST_CHECKSUM_SOURCE")
# PEM bundle of the IGC-Santé chain the list's site is checked against (TL1); empty: the
# system's authorities (still verified).
TRUSTLIST_CA_FILE = env_str("TRUSTLIST_CA_FILE")
# A new list is refused below this many valid domains (the real list has about 5,000) or when
# it has more than this percentage fewer than the list in force (TL3).
TRUSTLIST_MIN_DOMAINS = env_int("TRUSTLIST_MIN_DOMAINS", 1000, minimum=1)
TRUSTLIST_MAX_DROP_PERCENT = env_int("TRUSTLIST_MAX_DROP_PERCENT", 20, minimum=0)
# block: a recipient outside the trust space is refused; warn: the person may confirm (TL5).
TRUSTLIST_MODE = env_choice("TRUSTLIST_MODE", "block", ("block", "warn"))
# The operator's own domains always pass (TL5), listed or not.
TRUSTLIST_OPERATOR_DOMAINS = env_list("TRUSTLIST_OPERATOR_DOMAINS", [])
TRUSTLIST_STALE_DAYS = env_int("TRUSTLIST_STALE_DAYS", 7, minimum=1)
# A starting worker asks for the list when none was ever loaded (TL3).
TRUSTLIST_REFRESH_AT_START = env_bool("TRUSTLIST_REFRESH_AT_START", True)

# --- Annuaire Santé directory (directory/, CONFORMANCE.md DIR1–DIR5) -------------------------
# The MSSanté extraction imported daily by beat: a file path, or the https URL of the ANS's ZIP
# (https://service.annuaire.sante.fr/annuaire-sante-webservices/V300/services/extraction/
# Extraction_Correspondance_MSSante); empty: only `manage.py import_annuaire FILE`.
ANNUAIRE_SOURCE = env_str("ANNUAIRE_SOURCE")
ANNUAIRE_MAX_BYTES = env_int("ANNUAIRE_MAX_BYTES", 300 * 1024 * 1024, minimum=1024)
# Autocomplete requests per person and minute (DIR5).
DIRECTORY_SUGGEST_PER_MINUTE = env_int("DIRECTORY_SUGGEST_PER_MINUTE", 120, minimum=1)
# DIR6: an address chosen in the composer is confirmed live with the Annuaire Santé FHIR API
# (key from https://portal.api.esante.gouv.fr); empty: no live check.
ANNUAIRE_FHIR_API_KEY = env_str("ANNUAIRE_FHIR_API_KEY")
ANNUAIRE_FHIR_URL = env_str("ANNUAIRE_FHIR_URL", "https://gateway.api.esante.gouv.fr/fhir/v2")
if not ANNUAIRE_FHIR_URL.startswith(("https://", "http://127.0.0.1:", "http://localhost:")):
    raise ImproperlyConfigured("ANNUAIRE_FHIR_URL must be https (plain http on loopback only)")

# Health documents (documents/, CONFORMANCE.md XDM-R3 and XDM-S): every unzip limit is a
# setting; the OID of this installation names it as the source of the packages it sends.
DOCUMENTS_XDM_PART_BYTES = env_int("DOCUMENTS_XDM_PART_BYTES", 25 * 1024 * 1024, minimum=1)
DOCUMENTS_XDM_ENTRIES = env_int("DOCUMENTS_XDM_ENTRIES", 100, minimum=1)
DOCUMENTS_XDM_ENTRY_BYTES = env_int("DOCUMENTS_XDM_ENTRY_BYTES", 20 * 1024 * 1024, minimum=1)
DOCUMENTS_XDM_METADATA_BYTES = env_int("DOCUMENTS_XDM_METADATA_BYTES", 2 * 1024 * 1024, minimum=1)
DOCUMENTS_XDM_TOTAL_BYTES = env_int("DOCUMENTS_XDM_TOTAL_BYTES", 100 * 1024 * 1024, minimum=1)
DOCUMENTS_XDM_RATIO = env_int("DOCUMENTS_XDM_RATIO", 200, minimum=1)
DOCUMENTS_XDM_RATIO_FLOOR = env_int("DOCUMENTS_XDM_RATIO_FLOOR", 1024 * 1024, minimum=0)
DOCUMENTS_SOURCE_OID = env_str("DOCUMENTS_SOURCE_OID", "1.2.250.1.999.1.1")
# The ANS's ASS_X04 table (document type -> XDS classCode), as its FHIR ConceptMap JSON
# (documents/terminology.py); empty: the built-in subset.
DOCUMENTS_CLASS_CODE_MAP = env_str("DOCUMENTS_CLASS_CODE_MAP", "")
# X-MSS-INS: O with the INS test/demo OIDs too (XDM-S6): the demo and the tests only.
DOCUMENTS_ACCEPT_TEST_INS = env_bool("DOCUMENTS_ACCEPT_TEST_INS", DEBUG)
# X-MSS-NIL: the product's Convergence reference, on every message sent (CONF.16/ECO.2.4.3);
# required outside DEBUG (webmail.checks).
WEBMAIL_MSS_NIL = env_str("WEBMAIL_MSS_NIL", "")
