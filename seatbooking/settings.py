"""Settings, all overridable from the environment (docs/operations.md, Configuration)."""

import sys
from pathlib import Path

import dj_database_url

from core.logs import logging_config
from seatbooking.environment import env_bool, env_float, env_int, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


DEBUG = env_bool("DEBUG", False)
# The fallback key is for local runs only; production sets SECRET_KEY.
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "django_eventstream",
    "axes",  # the admin login's lockouts (core/admin_login.py)
    "core",
    "flights",
    "inventory",
    "orders",
    "operations",
]

MIDDLEWARE = [
    "core.client_address.ClientAddressMiddleware",  # first: everything after sees the trusted address
    # Next: gzips HTML and JSON bodies once every other middleware has set them (never an event stream or a
    # static file: core/compression.py). The lean path keeps it.
    "core.compression.PageCompressionMiddleware",
    "core.cache_control.NoStoreMiddleware",  # no stored copy of an order's data (whichever door answers)
    "core.queue_wait.QueueWaitMiddleware",  # behind nginx: 503 for a request that queued too long
    "core.request_limits.BodyLimitMiddleware",
    "core.metrics.RequestTimingMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.headers.ResponseHeadersMiddleware",  # Content-Security-Policy, Permissions-Policy
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: the language from the switcher's cookie or Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: a locked-out login becomes the page again
]
# The hot API calls' lean path (orders/hot_path.py, core/lean_handler.py) leaves out what only pages and the browsable API use.
LEAN_MIDDLEWARE = [
    name
    for name in MIDDLEWARE
    if name.rsplit(".", 1)[0]
    not in (
        "whitenoise.middleware",
        "django.contrib.sessions.middleware",
        "django.middleware.csrf",
        "django.contrib.auth.middleware",
        "django.contrib.messages.middleware",
        "axes.middleware",
        "core.headers",  # the page policies: JSON is never rendered (docs/security.md)
    )
]

# --- Web hygiene -----------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True  # the pages' script takes the CSRF token from the form, not the cookie
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env_str("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
# Behind an HTTPS proxy (HTTPS=1): secure cookies, HSTS, redirect plain HTTP. Off for local runs.
HTTPS = env_bool("HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# CORS (django-cors-headers): off unless origins are listed, for integrators' browser apps.
CORS_ALLOWED_ORIGINS = [o.strip() for o in env_str("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip()]
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "idempotency-key", "last-event-id"]
CORS_EXPOSE_HEADERS = ["retry-after", "idempotent-replayed"]

ROOT_URLCONF = "seatbooking.urls"
ASGI_APPLICATION = "seatbooking.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",  # LANGUAGE_CODE for <html lang> and the switcher
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# The embedded default is a SQLite file; production and CI name PostgreSQL in DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
# CONN_MAX_AGE stays 0: under ASGI persistent connections are not reused and exhaust PostgreSQL.
_default_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
# PostgreSQL: no statement waits for a row lock longer than this; the change is refused as busy (503,
# Retry-After) instead of hanging behind a stuck transaction (docs/locking.md). Set when a connection
# opens, so it costs no statement. 0 turns it off.
DB_LOCK_TIMEOUT_SECONDS = env_float("DB_LOCK_TIMEOUT_SECONDS", 3)
# Bounded database calls (core/database.py): connecting, a dead peer, a statement, and any wait for an answer.
_program = Path(sys.argv[0]).name if Path(sys.argv[0]).name != "__main__.py" else Path(sys.argv[0]).parent.name
_command = sys.argv[1] if len(sys.argv) > 1 and _program == "manage.py" else _program
# One-off jobs (migrate, an archive, a bulk load, the test runner itself) may run long statements; the
# processes that serve (web, streams, workers, timer loops) may not.
_ONE_OFF = _program == "pytest" or (
    _program == "manage.py" and _command not in ("run_worker", "run_timers", "runserver")
)
DB_CONNECT_TIMEOUT_SECONDS = env_int("DB_CONNECT_TIMEOUT_SECONDS", 3)
DB_KEEPALIVE_SECONDS = env_int("DB_KEEPALIVE_SECONDS", 10)
# Above DB_LOCK_TIMEOUT_SECONDS (a lock wait ends as `busy` first), and with the margin below 5 s: a request
# on a database that stopped answering gets its 503 within 5 s. 0 turns both bounds off.
DB_STATEMENT_TIMEOUT_SECONDS = env_float("DB_STATEMENT_TIMEOUT_SECONDS", 0 if _ONE_OFF else 3.5)
# Our side's bound on any wait for the server, for when the server cannot enforce its own (it hangs).
DB_ANSWER_TIMEOUT_SECONDS = DB_STATEMENT_TIMEOUT_SECONDS + 0.5 if DB_STATEMENT_TIMEOUT_SECONDS > 0 else 0
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    _default_db["OPTIONS"] = {
        # SQLite ignores SELECT ... FOR UPDATE; IMMEDIATE transactions serialise writers instead.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so that threads and processes in tests share one database.
    _default_db["TEST"] = {"NAME": env_str("TEST_SQLITE_NAME", str(VAR_DIR / "test-db.sqlite3"))}
    VAR_DIR.mkdir(exist_ok=True)
elif _default_db["ENGINE"] == "django.db.backends.postgresql":
    _default_db.setdefault("OPTIONS", {})["options"] = (
        f"-c lock_timeout={int(DB_LOCK_TIMEOUT_SECONDS * 1000)} "
        f"-c statement_timeout={int(DB_STATEMENT_TIMEOUT_SECONDS * 1000)}"
    )
    # A server that does not accept within this many seconds is down for us (libpq counts whole seconds, at least 2);
    # keepalives find a connection whose peer vanished (host gone, network cut) in about 2x DB_KEEPALIVE_SECONDS.
    _default_db["OPTIONS"].update(
        connect_timeout=max(2, DB_CONNECT_TIMEOUT_SECONDS),
        keepalives=1,
        keepalives_idle=DB_KEEPALIVE_SECONDS,
        keepalives_interval=max(1, DB_KEEPALIVE_SECONDS // 3),
        keepalives_count=3,
    )
    # Each kind of process names its connections (pg_stat_activity.application_name): "seatbooking web"
    # (seatbooking/asgi.py), "seatbooking run_worker", "seatbooking run_timers", ...
    _default_db["OPTIONS"]["application_name"] = f"seatbooking {_command}"[:63]
    # psycopg prepares a statement after its 5th run on a connection (Django turns this off by default,
    # for connection poolers in transaction mode; none is used here). It pays off for the hot path's
    # hand-written statements, sent with their parameters apart (core/statement.py): a seat change's one
    # statement took 1.5 ms to plan and 1 ms to run.
    _default_db["OPTIONS"]["prepare_threshold"] = 5
DATABASES = {"default": _default_db}
# A connection pool for web processes only (psycopg_pool): many requests and streams share a few
# connections. On by default on PostgreSQL (DB_POOL_MAX_SIZE, default 10; 0 turns it off).
# seatbooking/asgi.py puts it in place; workers and timer loops never get one, whatever the environment
# says: a pool made before django-q2 forks would be shared by its workers, and their replies mixed.
# Budget: web processes x DB_POOL_MAX_SIZE + workers + timer loops (docs/operations.md, Deployment).
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 10)
# Request threads never wait for a connection (WEB_THREADS leaves two for streams); a wait means the
# database holds them all (it hangs), and with DB_ANSWER_TIMEOUT_SECONDS it must stay within 5 s.
DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 1)
WEB_DB_POOL = (
    {"min_size": 1, "max_size": DB_POOL_MAX_SIZE, "timeout": DB_POOL_TIMEOUT}
    if _default_db["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_MAX_SIZE > 0
    else None
)
# Admission (core/admission.py): a web process runs at most WEB_THREADS requests at once (its threads
# for request/response; event streams are not counted). With a pool, two of its connections are left
# for event streams and event delivery, so that no request thread waits for a connection. A request
# that finds every thread busy waits at most WEB_MAX_WAIT_SECONDS, then gets 503 `busy` with Retry-After.
WEB_THREADS = env_int("WEB_THREADS", max(1, DB_POOL_MAX_SIZE - 2) if WEB_DB_POOL else 8)
WEB_MAX_WAIT_SECONDS = env_float("WEB_MAX_WAIT_SECONDS", 2)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Web ----------------------------------------------------------------------------------------
# The pages speak English (the default) and Portuguese (European), chosen by the switcher in every page's
# header (a cookie) or else the browser's Accept-Language; the API answers in English with stable codes.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("pt", "Português")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
APPEND_SLASH = False  # the contract's paths have no trailing slash
# Request bodies here are a few hundred bytes; refuse big ones (413) before reading them
# (core/request_limits.py, around the ASGI application); Django's own limit is the same number.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# The proxies in front of the service (addresses or CIDR networks). Only from these does X-Forwarded-For
# count; empty: the socket's peer is the client (core/client_address.py).
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
CSRF_FAILURE_VIEW = "core.api_errors.csrf_failure"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names (cached for good by browsers and proxies: whitenoise marks them immutable) and gzip
    # copies, made by `manage.py collectstatic` (make static; make run and make test do it first).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["core.drf.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.drf.ContentNegotiation",  # no Content-Type: read as JSON
    # Orders authorise by their own token or the creating session (orders/access.py), not DRF users.
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "EXCEPTION_HANDLER": "core.api_errors.json_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Throttles key on REMOTE_ADDR alone, which ClientAddressMiddleware has set from trusted hops only.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Seat booking API",
    "DESCRIPTION": "Create an order, hold seats, pay with a 5-digit code, follow it live. "
    'Every error is JSON: {"error": <message>, "code": <stable code>}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The interactive docs' assets come from the app itself (drf-spectacular-sidecar): they work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request components apart from response ones, so that required strings get minLength and so on.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {  # three choice sets share the key "State": the order's, a change's, a refund's
        "ChangeStateEnum": "orders.models.ChangeState",
        "RefundStateEnum": "orders.models.RefundState",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.add_event_streams",
        "core.openapi.exact_requests_and_common_errors",
    ],
}

# --- Booking rules ------------------------------------------------------------------------------
SEAT_HOLD_SECONDS = env_float("SEAT_HOLD_SECONDS", 900)
MAX_SEATS_PER_ORDER = env_int("MAX_SEATS_PER_ORDER", 9)
# However often the seats change, a hold never lasts past the order's first hold + this.
HOLD_EXTENSION_CAP_SECONDS = env_float("HOLD_EXTENSION_CAP_SECONDS", 3600)
# PostgreSQL: a seat change's writes as one statement under the order's lock (docs/performance.md has the
# measured gain); off, the portable ORM statements that SQLite runs. `make bench` compares the two.
SEAT_CHANGE_ONE_STATEMENT = env_bool("SEAT_CHANGE_ONE_STATEMENT", True)

# --- Payment (the original's retry policy: 3 attempts, 10 s each, backoff 1 s x2 up to 5 s) ------------
PAYMENT_MAX_ATTEMPTS = env_int("PAYMENT_MAX_ATTEMPTS", 3)
PAYMENT_TIMEOUT_SECONDS = env_float("PAYMENT_TIMEOUT_SECONDS", 10)
PAYMENT_BACKOFF_INITIAL_SECONDS = env_float("PAYMENT_BACKOFF_INITIAL_SECONDS", 1)
PAYMENT_BACKOFF_MULTIPLIER = env_float("PAYMENT_BACKOFF_MULTIPLIER", 2)
PAYMENT_BACKOFF_MAX_SECONDS = env_float("PAYMENT_BACKOFF_MAX_SECONDS", 5)
# The simulated gateway: share of calls declined, and mean answer time (each call takes 0.5-1.5x it).
PAYMENT_FAILURE_RATE = env_float("PAYMENT_FAILURE_RATE", 0.15)
PAYMENT_LATENCY_SECONDS = env_float("PAYMENT_LATENCY_SECONDS", 0.3)
PAYMENT_GATEWAY = env_str("PAYMENT_GATEWAY", "orders.gateway.SimulatedGateway")
# The simulated gateway's ledger: a file shared by every process, outside the service's database.
PAYMENT_GATEWAY_LEDGER = env_str("PAYMENT_GATEWAY_LEDGER", str(VAR_DIR / "gateway-ledger.sqlite3"))
# A running attempt not reported by timeout + this margin lost its answer: the gateway is asked about it.
PAYMENT_LOST_MARGIN_SECONDS = env_float("PAYMENT_LOST_MARGIN_SECONDS", 2)

# --- Timers and background work --------------------------------------------------------------------
# How often the timer loop (manage.py run_timers) looks for lapsed holds and due payments.
TIMER_TICK_SECONDS = env_float("TIMER_TICK_SECONDS", 0.2)
# On SIGTERM/Ctrl-C a worker (manage.py run_worker) lets running tasks finish this long, then hands
# back a payment attempt still waiting for the gateway (retried at once, no attempt used). Below 5 s:
# honcho (make run) SIGKILLs what has not stopped 5 s after Ctrl-C.
WORKER_STOP_GRACE_SECONDS = env_float("WORKER_STOP_GRACE_SECONDS", 2)
REDIS_URL = env_str("REDIS_URL", "")
Q_CLUSTER = {
    "name": "seatbooking",
    "workers": env_int("Q_WORKERS", 2),
    # A task's hard limit: a payment task waits for the gateway at most 3 x PAYMENT_TIMEOUT_SECONDS.
    "timeout": int(3 * PAYMENT_TIMEOUT_SECONDS) + 20,
    # Redelivery of a task whose worker died; must exceed timeout or tasks run twice while still running.
    "retry": int(3 * PAYMENT_TIMEOUT_SECONDS) + 40,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    # Successful tasks are not kept: a payment's record is its PaymentAttempt rows and audit trail, and
    # django-q2's copy cost each task a write and a count of the table. Failed tasks are kept (admin).
    "save_limit": -1,
    "poll": 0.1,
    "label": "Background tasks",
}
# --- Abuse limits and secrets: seatbooking/abuse_settings.py (docs/security.md) ---------------------------
from seatbooking.abuse_settings import *  # noqa: E402, F403 - one section kept in its own module for size
from seatbooking.after_booking_settings import *  # noqa: E402, F403 - likewise

# --- Email (the booking confirmation, sent by a worker) --------------------------------------------------
# The console backend by default (make run prints the email in the worker's output); SMTP or a file in production.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "emails"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "bookings@seatbooking.invalid")
# Where travellers reach the site, for the links in the email (the find-my-booking page).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8080").rstrip("/")
# Throttle counts (and django-q2's statistics) live in the cache: shared through Redis when there is one,
# else per process. While Redis is away the cache falls back to per-process memory (core/cache.py).
CACHES = {
    "default": {"BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Operations ------------------------------------------------------------------------------------
HEARTBEAT_SECONDS = env_float("HEARTBEAT_SECONDS", 5)
IDEMPOTENCY_KEEP_HOURS = env_float("IDEMPOTENCY_KEEP_HOURS", 24)
# A retry waits this long for a first request with the same key to finish, then gets 409 (PostgreSQL).
# Kept 0.5 s under DB_STATEMENT_TIMEOUT_SECONDS when that is set (core/idempotency.py): else it ends as a 503.
IDEMPOTENCY_WAIT_SECONDS = env_float("IDEMPOTENCY_WAIT_SECONDS", 3)
# A keyed request's time limit: hung this long, PostgreSQL ends its session and its claim on the key lapses.
IDEMPOTENCY_LEASE_SECONDS = env_float("IDEMPOTENCY_LEASE_SECONDS", 30)
# Tests only: sleep this long after a keyed request's change, before its commit (widens a crash window).
IDEMPOTENCY_DEBUG_PAUSE_SECONDS = env_float("IDEMPOTENCY_DEBUG_PAUSE_SECONDS", 0)
HEALTH_TIMERS_MAX_AGE_SECONDS = env_float("HEALTH_TIMERS_MAX_AGE_SECONDS", 15)
HEALTH_WORKER_MAX_AGE_SECONDS = env_float("HEALTH_WORKER_MAX_AGE_SECONDS", 30)
# GET /metrics is closed unless one of these is set: a bearer token, or scrapers' addresses/networks
# (checked against the client address worked out from TRUSTED_PROXIES).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_ADDRESSES = env_networks("METRICS_ALLOWED_ADDRESSES")
# The timer loop refreshes the database figures /metrics shows this often; a scrape reads only that snapshot.
METRICS_REFRESH_SECONDS = env_float("METRICS_REFRESH_SECONDS", 15)
# The operators' dashboard in the admin (operations/) asks for fresh figures this often while it is open.
DASHBOARD_REFRESH_SECONDS = env_float("DASHBOARD_REFRESH_SECONDS", 5)

# --- Retention (core/retention.py, orders/retention.py; docs/operations.md#retention) -------------------
# Transient rows are pruned by the timer loops after their window; bookings and their audit trail are kept
# (archived only by `manage.py archive_orders`). Events and idempotency keys: EVENTS_KEEP_HOURS and
# IDEMPOTENCY_KEEP_HOURS; expired sessions at once.
# Released and expired seat holds of orders that have ended (the booking keeps its booked seats).
RETENTION_HOLDS_HOURS = env_float("RETENTION_HOLDS_HOURS", 168)
# django-q2's task rows (failed tasks, for the admin's task pages).
RETENTION_TASKS_HOURS = env_float("RETENTION_TASKS_HOURS", 168)
# Rows per delete statement, and statements per kind per pass: a pass never holds locks for long.
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 1000)
RETENTION_BATCHES_PER_PASS = env_int("RETENTION_BATCHES_PER_PASS", 10)

# --- Live events (core/events/) ----------------------------------------------------------
EVENTSTREAM_STORAGE_CLASS = "core.events.storage.EventStorage"
# Without Redis (or while it is down), each web process polls the event table this often for new events.
EVENTS_RELAY_POLL_SECONDS = env_float("EVENTS_RELAY_POLL_SECONDS", 0.2)
# With Redis, each web process still sweeps the event table this often for events Redis did not bring.
EVENTS_SWEEP_SECONDS = env_float("EVENTS_SWEEP_SECONDS", 2)
EVENTS_KEEP_HOURS = env_float("EVENTS_KEEP_HOURS", 24)
# An idle stream gets a keep-alive event this often, so that proxies do not close it, and so that the
# booking page sees a silent drop: it counts about 2.5 intervals without any event as a lost connection.
# 10 s (not 20) tells a traveller in about 25 s, for one ~25-byte event per idle stream every 10 s.
EVENTS_KEEPALIVE_SECONDS = env_float("EVENTS_KEEPALIVE_SECONDS", 10)
# The booking page's script gives up on a request after this long (a retry included), and says so.
PAGE_REQUEST_TIMEOUT_SECONDS = env_float("PAGE_REQUEST_TIMEOUT_SECONDS", 8)
# The task queue: with REDIS_URL (the deployed layout) a Redis list, which a worker waits on and takes a
# task from the moment it is queued; without (the embedded default) the database, polled every `poll`.
# Either may lose a queued task (Redis down, a worker killed): the timer loop queues it again when due.
Q_BROKER = env_str("Q_BROKER", "redis" if REDIS_URL else "orm")
if Q_BROKER == "redis":
    Q_CLUSTER["redis"] = REDIS_URL or "redis://127.0.0.1:6379/0"
    Q_CLUSTER["broker_class"] = "core.worker.RedisBroker"
else:
    Q_CLUSTER["orm"] = "default"

# Logs: readable lines by default (make run); LOG_FORMAT=json gives one JSON object a line, with the
# order id, flight and transition of every change, for web, workers and timer loop alike.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
# What INFO keeps (a line per order change, none per request; refusals summarised): core/logs.py.
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))
