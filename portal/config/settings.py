"""The portal's one settings module: every deployment difference comes from an environment variable.

The channel layer and the Celery broker are Redis in every deployment: `./switchboard run` (scripts/launcher.py)
starts the stack's own Redis and names it in CHANNEL_LAYER_URL and CELERY_BROKER_URL unless they name another.
Without them (the portal's unit tests, a management command) both are in-memory: they reach only the process
itself, enough for tests and commands, never for a portal beside a worker. The rest runs on SQLite and a secret
key generated once unless told otherwise, under SWITCHBOARD_DATA_DIR (default <repo>/var).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url

from contracts import nlu_stream

REPO_DIR = Path(__file__).resolve().parents[2]
PORTAL_DIR = REPO_DIR / "portal"
DATA_DIR = Path(os.environ.get("SWITCHBOARD_DATA_DIR") or REPO_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    value = environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _generated_secret(name: str) -> str:
    """A secret generated on first start and kept in the data dir (never in the repo)."""
    key_file = DATA_DIR / name
    if not key_file.exists():
        # O_EXCL: when the portal, worker and beat start together, exactly one of them writes the key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or one generated once into the data dir."""
    return os.environ.get("DJANGO_SECRET_KEY") or _generated_secret("secret_key")


# What each kind of key may verify: a shared secret only HMAC, a public key only its own family, so an
# assertion can never choose how it is checked (no `none`, no public key used as an HMAC secret).
SECRET_ALGORITHMS = {"HS256", "HS384", "HS512"}
PUBLIC_KEY_ALGORITHMS = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
}
DEMO_CUSTOMER_ISSUER = "switchboard-demo-bank"


def customer_assertion_settings(
    environ: Mapping[str, str], demo_secret: Callable[[], str]
) -> dict[str, Any] | None:
    """How the bank's signed assertion of a customer is verified (conversations/identity.py), from the
    environment; None (off: every session is anonymous) when no key is set. The demo customer
    (SWITCHBOARD_DEMO_CUSTOMER) signs with a secret of its own, `demo_secret()`, and never beside a bank's
    key: the demo page would then sign for anyone with the bank's trust."""
    secret = environ.get("SWITCHBOARD_CUSTOMER_JWT_SECRET", "")
    key_file = environ.get("SWITCHBOARD_CUSTOMER_JWT_PUBLIC_KEY_FILE", "")
    demo = _env_bool("SWITCHBOARD_DEMO_CUSTOMER", False, environ)
    if sum(map(bool, (secret, key_file, demo))) > 1:
        raise ValueError(
            "set one of SWITCHBOARD_CUSTOMER_JWT_SECRET, SWITCHBOARD_CUSTOMER_JWT_PUBLIC_KEY_FILE and "
            "SWITCHBOARD_DEMO_CUSTOMER"
        )
    if demo:
        secret = demo_secret()
    if not (secret or key_file):
        return None
    allowed = SECRET_ALGORITHMS if secret else PUBLIC_KEY_ALGORITHMS
    default = "HS256" if secret else "RS256,ES256"
    named = environ.get("SWITCHBOARD_CUSTOMER_JWT_ALGORITHMS") or default
    algorithms = [a.strip() for a in named.split(",") if a.strip()]
    if not algorithms or not set(algorithms) <= allowed:
        kind = "a shared secret" if secret else "a public key"
        raise ValueError(
            f"SWITCHBOARD_CUSTOMER_JWT_ALGORITHMS {algorithms}: {kind} verifies only {sorted(allowed)}"
        )
    if secret and len(secret) < 32:  # an HMAC key shorter than its hash: guessable offline from one assertion
        raise ValueError("SWITCHBOARD_CUSTOMER_JWT_SECRET must be at least 32 characters")
    return {
        "key": secret or Path(key_file).read_text(),
        "algorithms": algorithms,
        "issuer": DEMO_CUSTOMER_ISSUER if demo else environ.get("SWITCHBOARD_CUSTOMER_JWT_ISSUER") or None,
        "audience": environ.get("SWITCHBOARD_CUSTOMER_JWT_AUDIENCE") or "switchboard",
        "max_age_seconds": int(environ.get("SWITCHBOARD_CUSTOMER_JWT_MAX_AGE_SECONDS") or 300),
        "leeway_seconds": int(environ.get("SWITCHBOARD_CUSTOMER_JWT_LEEWAY_SECONDS") or 30),
        "demo": demo,
    }


def database_from_url(url: str) -> dict:
    """A Django DATABASES entry from `postgres://user:pass@host:port/name?sslmode=…` (query options kept) or
    `sqlite:///path` (relative to the data dir; `sqlite:////abs/path` for an absolute one), by dj-database-url."""
    config: dict = dict(dj_database_url.parse(url))
    engine = config["ENGINE"]
    if engine == "django.db.backends.postgresql":
        # Each process keeps a pool of open connections (Django's, on psycopg_pool): without one, every socket
        # frame and every task opened a connection, and PostgreSQL forked a backend for it.
        pool = {"min_size": 1, "max_size": _env_int("SWITCHBOARD_DB_POOL_SIZE", 20), "timeout": 10}
        # No JIT compilation: the dashboard's year-long aggregates cross its cost threshold and then spend more
        # time compiling (0.2-0.5 s a query, measured) than running; no other query of the portal reaches it.
        # A URL's own `options` are kept instead.
        config["OPTIONS"] = {"options": "-c jit=off", **config.get("OPTIONS", {}), "pool": pool}
    elif engine == "django.db.backends.sqlite3":
        # A relative path is in the data dir; an absolute one stays as it is.
        config["NAME"] = str(DATA_DIR / config["NAME"]) if config["NAME"] not in ("", ":memory:") else ":memory:"
    else:
        raise ValueError(f"unsupported DATABASE_URL {urlsplit(url).scheme!r} (use postgres:// or sqlite:///)")
    return config


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",  # `manage.py runserver` serves ASGI (Channels) too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "conversations",
    "handoff",
    "agents",
    "tuning",
    "oversight",
    "widget",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the portal itself, compressed and cacheable, with no proxy needed (WhiteNoise).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL") or "sqlite:///db.sqlite3")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The portal, the worker and beat write to one file: wait for the lock rather than fail at once.
    # IMMEDIATE: a transaction takes the write lock when it starts, so select_for_update's promise (two agents
    # cannot both claim) holds on SQLite too.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    # Tests use a file too, not Django's shared in-memory database, whose locks fail at once instead of waiting
    # (so concurrent claims could not be tested) and which no worker process can reach. One per test process.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"switchboard-test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Names this deployment's keys on a shared Redis (its channel-layer prefix and Celery queue), so two
# deployments, or two test runs, on one Redis never take each other's events or tasks.
INSTANCE_NAME = os.environ.get("SWITCHBOARD_INSTANCE") or "switchboard"

# How many events may wait for one socket before the channel layer drops the next (channels_redis logs a drop at
# info level only). The library's default, 100, is what one agent's socket gets when 100 of the conversations it
# has open say something at once (a bot outage hands many off together): then a burst is lost. 2000 events of
# about 1 KB wait in Redis at most 2 MB per socket, and only while that socket is slow. Past it, clients still
# see the gap by the messages' seq and re-sync (docs/protocol.md, "Sequence numbers").
CHANNEL_CAPACITY = _env_int("SWITCHBOARD_CHANNEL_CAPACITY", 2000)
# Seconds an event may wait for its socket before it is dropped (the library's default): a socket that far
# behind re-syncs anyway.
CHANNEL_EXPIRY_SECONDS = _env_int("SWITCHBOARD_CHANNEL_EXPIRY_SECONDS", 60)

CHANNEL_LAYER_URL = os.environ.get("CHANNEL_LAYER_URL", "")
if CHANNEL_LAYER_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [CHANNEL_LAYER_URL],
                "prefix": f"asgi:{INSTANCE_NAME}",
                "capacity": CHANNEL_CAPACITY,
                "expiry": CHANNEL_EXPIRY_SECONDS,
            },
        }
    }
else:  # one process only (tests, management commands): see the module's docstring
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY, "expiry": CHANNEL_EXPIRY_SECONDS},
        }
    }

# The cache: the flood limits' counters (conversations/limits.py). Redis wherever more than one process runs
# (`./switchboard run` names the stack's own, db 2); in-memory for one process, like the channel layer above.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": INSTANCE_NAME,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/agents/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# WhiteNoise serves the apps' static files straight from their folders (no collectstatic step to forget, so
# no STATIC_ROOT).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- behind HTTPS (production: a TLS-terminating proxy in front) ------------------------------------------------
# Off under `./switchboard run`, which serves plain http on 127.0.0.1; the compose file turns it on. `manage.py
# check --deploy` is clean with it on (tests/portal/config/test_deploy_check.py).
SWITCHBOARD_HTTPS = _env_bool("SWITCHBOARD_HTTPS", False)
if SWITCHBOARD_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # the proxy says the client used https
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _env_int("SWITCHBOARD_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SWITCHBOARD_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("SWITCHBOARD_HSTS_PRELOAD", True)
# Every page's scripts, styles and sockets come from the portal itself: no inline script, no other origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The process id: several portal processes share one log (and one port).
    "formatters": {"portal": {"format": "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "portal"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SWITCHBOARD_LOG_LEVEL", "INFO")},
    # httpx logs every request's whole URL at INFO, and Rasa's API takes its token only in the query string.
    "loggers": {"httpx": {"level": "WARNING"}},
}

# --- the bot ------------------------------------------------------------------------------------------------
RASA_URL = (os.environ.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/")
RASA_TOKEN = os.environ.get("RASA_TOKEN", "")
RASA_TIMEOUT_SECONDS = _env_float("RASA_TIMEOUT_SECONDS", 10.0)  # read timeout: the bot's answer
RASA_CONNECT_TIMEOUT_SECONDS = _env_float("RASA_CONNECT_TIMEOUT_SECONDS", 3.0)
# A deploy or rollback waits this long for the Rasa server to load the model (PUT /model answers once loaded).
RASA_MODEL_LOAD_TIMEOUT_SECONDS = _env_float("RASA_MODEL_LOAD_TIMEOUT_SECONDS", 300.0)
# Tries of one customer message before the conversation fails open to a person; backoff doubles from 0.5 s.
BOT_DELIVERY_ATTEMPTS = _env_int("SWITCHBOARD_BOT_DELIVERY_ATTEMPTS", 2)
# The longest one delivery can take with the bot at its slowest: every try, the pauses, then the tracker.
BOT_DELIVERY_BUDGET_SECONDS = (BOT_DELIVERY_ATTEMPTS + 1) * (RASA_CONNECT_TIMEOUT_SECONDS + RASA_TIMEOUT_SECONDS) + sum(
    0.5 * 2**n for n in range(BOT_DELIVERY_ATTEMPTS - 1)
)
# A customer message still undelivered this long after it was stored is handed to a person (beat sweep); past
# the budget, so a delivery still in progress is not swept from under its task.
BOT_DELIVERY_DEADLINE_SECONDS = _env_int(
    "SWITCHBOARD_BOT_DELIVERY_DEADLINE_SECONDS", int(max(60, BOT_DELIVERY_BUDGET_SECONDS + 30))
)

# The bank's policy (bot/actions/bank_policy.yml): the one source of the figures the bot answers with and the
# customer demo page shows (rates, hours), so the two cannot disagree.
BANK_POLICY_FILE = Path(os.environ.get("SWITCHBOARD_BANK_POLICY_FILE") or REPO_DIR / "bot" / "actions" / "bank_policy.yml")

# --- governing the bot (docs/tuning.md) ------------------------------------------------------------------------
# The bot's project as committed: its domain's intents, its training data and its held-out test sets.
BOT_DIR = Path(os.environ.get("SWITCHBOARD_BOT_DIR") or REPO_DIR / "bot").resolve()
# Below this confidence the NLU inbox's "low confidence" filter shows a message (the bot's own fallback is 0.3).
NLU_LOW_CONFIDENCE = _env_float("SWITCHBOARD_NLU_LOW_CONFIDENCE", 0.6)
# The bot's own Python (bot/.venv, as ./switchboard builds and links it): a retrain runs in it, never in the
# portal's process. Not resolved: the venv's python is a link its venv is found through.
BOT_PYTHON = Path(os.environ.get("SWITCHBOARD_BOT_VENV_PYTHON") or BOT_DIR / ".venv" / "bin" / "python")
# Every trained candidate, kept with its evaluation (a ModelVersion's path points in here).
MODELS_DIR = DATA_DIR / "models"
# A training still running this long after it started is failed by the beat sweep: its worker died.
TRAINING_TIME_LIMIT_SECONDS = _env_int("SWITCHBOARD_TRAINING_TIME_LIMIT_SECONDS", 30 * 60)
# The gate: a candidate may lose at most this much held-out accuracy against the model in production.
GATE_ACCURACY_MARGIN = _env_float("SWITCHBOARD_GATE_ACCURACY_MARGIN", 0.01)
# The Redis stream the bot's event broker writes every customer message's reading to (contracts/nlu_stream.py):
# the same two variables as the bot's. Unset, nothing is read (`./switchboard run` names the stack's own Redis).
NLU_STREAM_URL = os.environ.get(nlu_stream.URL_VARIABLE, "")
NLU_STREAM_KEY = os.environ.get(nlu_stream.KEY_VARIABLE) or nlu_stream.DEFAULT_KEY
NLU_STREAM_GROUP = os.environ.get("SWITCHBOARD_NLU_STREAM_GROUP") or "portal"  # the portal's consumer group
NLU_INGEST_SECONDS = _env_float("SWITCHBOARD_NLU_INGEST_SECONDS", 5.0)  # how often beat runs the ingest
NLU_INGEST_BATCH = _env_int("SWITCHBOARD_NLU_INGEST_BATCH", 500)  # entries read, stored and acked together
# An entry read but not acknowledged this long (its worker died before the commit) is taken by the next ingest.
NLU_INGEST_RECLAIM_SECONDS = _env_int("SWITCHBOARD_NLU_INGEST_RECLAIM_SECONDS", 60)

# New-intent discovery (docs/oversight.md): the messages the bot did not understand in the last WINDOW_DAYS (at
# most MAX_MESSAGES, the newest) are grouped by meaning in the bot's Python; groups further apart than
# MAX_DISTANCE (cosine) are two topics, and a group smaller than MIN_SIZE is none.
TOPIC_WINDOW_DAYS = _env_int("SWITCHBOARD_TOPIC_WINDOW_DAYS", 28)
TOPIC_MAX_MESSAGES = _env_int("SWITCHBOARD_TOPIC_MAX_MESSAGES", 2000)
TOPIC_MAX_DISTANCE = _env_float("SWITCHBOARD_TOPIC_MAX_DISTANCE", 0.6)
TOPIC_MIN_SIZE = _env_int("SWITCHBOARD_TOPIC_MIN_SIZE", 3)
TOPIC_TIMEOUT_SECONDS = _env_float("SWITCHBOARD_TOPIC_TIMEOUT_SECONDS", 600.0)

# --- oversight: drift alerts (docs/oversight.md) ---------------------------------------------------------------
# What a day may differ from its trailing four weeks before it is drift (oversight/drift.py, Margins): its intent
# mix's or confidence distribution's population-stability index past this beyond its sampling noise; a fallback or
# handoff rate further from the weeks' mean than the margin or so many standard deviations; an intent's share of
# the day further from its share of the weeks than the share margin or so many standard deviations.
OVERSIGHT_DRIFT_PSI = _env_float("SWITCHBOARD_DRIFT_PSI", 0.25)
OVERSIGHT_DRIFT_RATE_MARGIN = _env_float("SWITCHBOARD_DRIFT_RATE_MARGIN", 0.05)
OVERSIGHT_DRIFT_SIGMAS = _env_float("SWITCHBOARD_DRIFT_SIGMAS", 5.0)
OVERSIGHT_DRIFT_SHARE_MARGIN = _env_float("SWITCHBOARD_DRIFT_SHARE_MARGIN", 0.02)
OVERSIGHT_DRIFT_SHARE_SIGMAS = _env_float("SWITCHBOARD_DRIFT_SHARE_SIGMAS", 7.0)

# --- mail (drift alerts to the managers) ------------------------------------------------------------------------
# SMTP when EMAIL_HOST is set; else each mail is a file in the data dir's mail/ (the embedded defaults send none).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = _env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "switchboard@localhost")

# --- sockets, sessions, handoffs ----------------------------------------------------------------------------
SWITCHBOARD_MAX_FRAME_BYTES = _env_int("SWITCHBOARD_MAX_FRAME_BYTES", 16384)
SWITCHBOARD_MAX_TEXT_CHARS = _env_int("SWITCHBOARD_MAX_TEXT_CHARS", 2000)
WIDGET_TOKEN_MAX_AGE_SECONDS = _env_int("SWITCHBOARD_WIDGET_TOKEN_MAX_AGE_SECONDS", 7 * 24 * 3600)
# A customer socket must send its `auth` frame within this long, or it is closed (4408).
WIDGET_AUTH_TIMEOUT_SECONDS = _env_float("SWITCHBOARD_WIDGET_AUTH_TIMEOUT_SECONDS", 10.0)
# The bank's assertion of who a customer is (docs/protocol.md, "Who the customer is"); None: all anonymous.
CUSTOMER_ASSERTION = customer_assertion_settings(
    os.environ, lambda: _generated_secret("demo-customer-secret")
)
# A queued handoff's priority goes up one step each time it has waited this long.
HANDOFF_PRIORITY_RAISE_AFTER_SECONDS = _env_int("SWITCHBOARD_PRIORITY_RAISE_AFTER_SECONDS", 300)

# --- personal data (docs/privacy.md) --------------------------------------------------------------------------
# A conversation with no activity (a message or a change of status) for this many days is erased, in the portal
# and in the bot's tracker store, by a daily beat job; at most RETENTION_BATCH_SIZE conversations a transaction.
RETENTION_DAYS = _env_int("SWITCHBOARD_RETENTION_DAYS", 365)
RETENTION_BATCH_SIZE = _env_int("SWITCHBOARD_RETENTION_BATCH_SIZE", 200)

# --- flood limits (conversations/limits.py; docs/protocol.md, "Limits") -------------------------------------
# "count/period": period s, m, h or d, optionally with a multiplier ("20/10m": 20 per 10 minutes).
RATE_LIMITS = {
    "sessions_per_address": os.environ.get("SWITCHBOARD_LIMIT_SESSIONS_PER_ADDRESS") or "20/10m",
    "messages_per_conversation": os.environ.get("SWITCHBOARD_LIMIT_MESSAGES_PER_CONVERSATION") or "20/m",
    "messages_per_address": os.environ.get("SWITCHBOARD_LIMIT_MESSAGES_PER_ADDRESS") or "60/m",
    "handoffs_per_address": os.environ.get("SWITCHBOARD_LIMIT_HANDOFFS_PER_ADDRESS") or "5/h",
    "logins_per_address": os.environ.get("SWITCHBOARD_LIMIT_LOGINS_PER_ADDRESS") or "30/10m",
    "logins_per_username": os.environ.get("SWITCHBOARD_LIMIT_LOGINS_PER_USERNAME") or "10/10m",
}
RATELIMIT_FAIL_OPEN = True  # a cache that answers nothing lets traffic through (limits.py says why)

# --- Celery -------------------------------------------------------------------------------------------------
CELERY_DIR = DATA_DIR / "celery"
CELERY_DIR.mkdir(parents=True, exist_ok=True)
# memory://: one process only, like the in-memory channel layer above (the unit tests run tasks eagerly).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_ALWAYS_EAGER = _env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = INSTANCE_NAME  # workers consume it, beat and the portal send to it
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_DIR / "beat-schedule")
