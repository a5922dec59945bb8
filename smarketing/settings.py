"""The one settings module. Every value comes from a typed environment variable (see docs/configuration.md)."""

import ipaddress
import re
from pathlib import Path

import dj_database_url

from smarketing.env import ConfigError, data_dir, env_bool, env_int, env_list, env_str, secret_key

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = secret_key(DATA_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Where recipients reach the tracking pixel, click redirect, unsubscribe and preference pages of marketing mail
# (/e/...); defaults to SITE_URL. Must be HTTPS in production: Gmail and Yahoo require an HTTPS List-Unsubscribe.
SMARKETING_BASE_URL = env_str("SMARKETING_BASE_URL", SITE_URL).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_tasks",
    "django_tasks_db",
    "smarketing.core",
    "smarketing.accounts",
    "smarketing.campaigns",
    "smarketing.crm",
    "smarketing.timeline",
    "smarketing.notifications",
    "smarketing.segments",
    "smarketing.mail",
    "smarketing.email",
    "smarketing.forms",
    "smarketing.scoring",
    "smarketing.process",
    "smarketing.scheduling",
    "smarketing.content",
    "smarketing.workflows",
    "smarketing.jobs",
    "smarketing.dataio",
    "smarketing.api",
    "smarketing.webhooks",
    "smarketing.privacy",
    "smarketing.metrics",
    "smarketing.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "smarketing.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "smarketing.core.middleware.LoginRequiredMiddleware",
    "smarketing.core.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "smarketing.urls"
WSGI_APPLICATION = "smarketing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smarketing.core.toasts.pending_toasts",
            ],
        },
    }
]

# Database: embedded SQLite by default; PostgreSQL (or any dj-database-url URL) via DATABASE_URL.
_database_url = env_str("DATABASE_URL", "")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "smarketing.sqlite3",
            "OPTIONS": {
                # IMMEDIATE: a writer takes the lock when its transaction starts, so two writers
                # queue on busy_timeout instead of one failing with "database is locked" mid-way.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    # No memory-mapped I/O: with it, two web processes writing the WAL database under load
                    # got "disk I/O error" on about half the email clicks past ~2,500 in a run, and a few
                    # answered clicks left no row (bench/tracking_bench.py; three runs without it: none).
                    "PRAGMA mmap_size=0;"
                    "PRAGMA cache_size=-65536;"
                ),
            },
        }
    }
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
):
    raise ConfigError("DATABASE_URL must point to PostgreSQL (postgres://...) or SQLite (sqlite:///...)")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Links in password-reset and invitation emails work once (setting the password invalidates them) and expire.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_HOURS", 24, minimum=1) * 3600
INVITE_TIMEOUT = env_int("INVITE_DAYS", 7, minimum=1) * 86400

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Content library files in an S3-compatible bucket instead of the data directory (issue 12; see below).
CONTENT_S3_BUCKET = env_str("CONTENT_S3_BUCKET", "")
CONTENT_S3_ENDPOINT_URL = env_str("CONTENT_S3_ENDPOINT_URL", "")  # MinIO, Ceph, R2...; empty for AWS
CONTENT_S3_REGION = env_str("CONTENT_S3_REGION", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Content library files: private (never served by URL; smarketing/content/views_files.py streams them).
    "content": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": CONTENT_S3_BUCKET,
                "endpoint_url": CONTENT_S3_ENDPOINT_URL or None,
                "region_name": CONTENT_S3_REGION or None,
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        }
        if CONTENT_S3_BUCKET
        else {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "content"}}
    ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploads live in the data directory and are never served by URL (see dataio views).
MEDIA_ROOT = DATA_DIR / "uploads"
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", False)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 5 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Security: secure defaults; HTTPS-only cookies unless running plain HTTP locally.
_https = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if _https else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)  # also: the client address is the proxy's X-Forwarded-For entry
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from a meta tag, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

TASKS_BACKEND = env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")
TASKS = {"default": {"BACKEND": TASKS_BACKEND, "QUEUES": []}}
if "django_tasks_rq" in TASKS_BACKEND:
    # Redis/RQ for scale-out (pip install 'smarketing[redis]'); every queue name must be configured for RQ.
    INSTALLED_APPS.append("django_rq")
    _redis_url = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
    RQ_QUEUES = {name: {"URL": _redis_url} for name in env_list("TASK_QUEUES", ["default"])}
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 120, minimum=5)

# Django's send_mail (notifications, password resets, invitations) goes through the one sender on the
# transactional stream: same SMTP session, same DKIM signature as campaigns (smarketing/mail/backend.py).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "smarketing.mail.backend.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
# DKIM signing of every message that leaves (smarketing/mail/dkim.py): on when all three are set.
DKIM_DOMAIN = env_str("DKIM_DOMAIN", "")
DKIM_SELECTOR = env_str("DKIM_SELECTOR", "")
DKIM_PRIVATE_KEY_FILE = env_str("DKIM_PRIVATE_KEY_FILE", "")
if bool(DKIM_DOMAIN) + bool(DKIM_SELECTOR) + bool(DKIM_PRIVATE_KEY_FILE) not in (0, 3):
    raise ConfigError("DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE are set together or not at all")
# Right-hand side of Message-IDs; empty means the host of the public base URL.
MAIL_MESSAGE_ID_DOMAIN = env_str("MAIL_MESSAGE_ID_DOMAIN", "")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Smarketing <noreply@localhost>")

# Bounces and complaints (smarketing/mail/feedback.py, docs/email-delivery.md).
MAIL_SOFT_BOUNCE_LIMIT = env_int("MAIL_SOFT_BOUNCE_LIMIT", 3, minimum=1)  # soft bounces in 30 days → suppressed
MAIL_FEEDBACK_SECRET = env_str("MAIL_FEEDBACK_SECRET", "")  # HMAC key of POST /mail/feedback/; empty: endpoint off
MAIL_FEEDBACK_MAX_BYTES = 1_048_576
MAIL_FEEDBACK_RATE_PER_MINUTE = env_int("MAIL_FEEDBACK_RATE_PER_MINUTE", 600, minimum=1)
# Where DSNs come back (the envelope sender of marketing mail); the sink parses what is sent to it.
MAIL_BOUNCE_ADDRESS = env_str("MAIL_BOUNCE_ADDRESS", "")
# The demo's mail viewer (/mail/viewer/): `smarketing demo` turns it on and starts `smarketing mailsink`.
MAIL_VIEWER = env_bool("MAIL_VIEWER", False)

# Email campaigns (smarketing/email/sending.py): sends claimed per round, sender jobs started per campaign.
EMAIL_SEND_BATCH = env_int("EMAIL_SEND_BATCH", 200, minimum=1)
EMAIL_SENDERS_PER_CAMPAIGN = env_int("EMAIL_SENDERS_PER_CAMPAIGN", 2, minimum=1)

# The public tracking endpoints (email/views/public.py): hits per minute per client address before they answer
# 429 (counted in the cache, CACHES below: per process unless CACHE_REDIS_URL is set).
EMAIL_TRACKING_RATE_PER_MINUTE = env_int("EMAIL_TRACKING_RATE_PER_MINUTE", 1200, minimum=1)
# Web tracking (issue 9, tracking part; smarketing/forms/views_tracking.py): page-view hits per minute per client
# address on /t/hit and /t/p.gif before they are dropped (counted in the cache, like the email endpoints).
TRACKING_RATE_PER_MINUTE = env_int("TRACKING_RATE_PER_MINUTE", 600, minimum=1)

# Public forms (issue 9, formscapture: smarketing/forms/spam.py, forms/public.py): submissions per minute per
# client address and per form before the submit endpoint answers 429 (counted in the cache, CACHES below), and
# the largest request body it reads.
FORMS_RATE_PER_IP = env_int("FORMS_RATE_PER_IP", 10, minimum=1)
FORMS_RATE_PER_FORM = env_int("FORMS_RATE_PER_FORM", 300, minimum=1)
FORMS_MAX_BODY_BYTES = env_int("FORMS_MAX_BODY_BYTES", 65536, minimum=1024)

# Booking pages (issue 11: smarketing/scheduling/public_api.py): booking attempts per minute per client address
# before /meet/<slug>/book.json answers 429 (counted in the cache; the race test and bench raise it).
SCHEDULING_BOOK_RATE_PER_IP = env_int("SCHEDULING_BOOK_RATE_PER_IP", 10, minimum=1)

# Content library (issue 12: smarketing/content). Files live in the "content" storage (STORAGES below): the data
# directory, or an S3-compatible bucket when CONTENT_S3_BUCKET is set (pip install 'smarketing[s3]'). Uploads
# over CONTENT_MAX_UPLOAD_MB are refused; share-link openings per minute per client address before the viewer
# answers 429.
CONTENT_MAX_UPLOAD_MB = env_int("CONTENT_MAX_UPLOAD_MB", 50, minimum=1)
CONTENT_VIEW_RATE_PER_IP = env_int("CONTENT_VIEW_RATE_PER_IP", 60, minimum=1)

# Every API view also sets these itself (smarketing/api/views/base.py); here they are the defaults for any
# DRF view added later.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "smarketing.api.problems.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "smarketing.api.authentication.BearerTokenAuthentication",
        "smarketing.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "smarketing.api.permissions.TokenScopePermission",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

# The cache holds API throttling counters. The default is per process; with several web processes, point all
# of them at one Redis (pip install 'smarketing[redis]') so a token's limit is shared.
_cache_redis = env_str("CACHE_REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_redis}
        if _cache_redis
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Brute-force limits (accounts/throttle.py), counted in the cache above: failed logins per account and per
# address, and unknown API tokens per address, each within LOGIN_LOCKOUT_MINUTES, then locked for as long.
LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 10, minimum=1)
LOGIN_MAX_FAILURES_PER_IP = env_int("LOGIN_MAX_FAILURES_PER_IP", 50, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
API_MAX_BAD_TOKENS_PER_IP = env_int("API_MAX_BAD_TOKENS_PER_IP", 20, minimum=1)
# Password-reset emails per account and requests per address within LOGIN_LOCKOUT_MINUTES (the form is public).
PASSWORD_RESET_MAX_PER_ACCOUNT = env_int("PASSWORD_RESET_MAX_PER_ACCOUNT", 3, minimum=1)
PASSWORD_RESET_MAX_PER_IP = env_int("PASSWORD_RESET_MAX_PER_IP", 20, minimum=1)

SPECTACULAR_SETTINGS = {
    "TITLE": "Smarketing API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components (ContactRequest / Contact): read-only fields such as `id` are
    # required in responses and absent from requests, so generated clients neither miss nor send them.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "smarketing.api.schema.postprocess"],
    # Several resources have a `status` of their own: each choice set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "FormStatusEnum": "smarketing.forms.models.FormStatus",
        "FormStatusChangeEnum": ["live", "archived"],
        "SubmissionStatusEnum": "smarketing.forms.models.SubmissionStatus",
        "WorkflowStatusEnum": "smarketing.workflows.models.WorkflowStatus",
        "EnrollmentStatusEnum": "smarketing.workflows.models.EnrollmentStatus",
        "StepRunStatusEnum": "smarketing.workflows.models.StepStatus",
        "PredictiveModelStatusEnum": "smarketing.scoring.models.ModelStatus",
        "ContentStatusEnum": "smarketing.content.models.Status",  # assets and messages (issue 12)
        "AssetVersionStatusEnum": "smarketing.content.models.VersionStatus",
        "MessageKindEnum": "smarketing.content.models.MessageKind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Lists never count whole tables; pages are keyset-paginated.
PAGE_SIZE = env_int("PAGE_SIZE", 50, minimum=5)
MAX_IMPORT_MB = env_int("SMARKETING_MAX_IMPORT_MB", 200, minimum=1)
JOB_RETENTION_DAYS = env_int("JOB_RETENTION_DAYS", 14, minimum=1)
# Outbox events are kept at least this long after every consumer has handled them (replays, debugging).
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 7, minimum=1)
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 600, minimum=1)

# `smarketing serve` (gunicorn): defaults for its options.
SERVE_BIND = env_str("BIND", "127.0.0.1:8000")
SERVE_WORKERS = env_int("WEB_CONCURRENCY", 2, minimum=1)
FORWARDED_ALLOW_IPS = env_str("FORWARDED_ALLOW_IPS", "127.0.0.1")

# --- ingest (issue 9): the tracking ingest path (smarketing/core/ingest.py, core/fastpath.py, docs/scaling.md) ---
SERVE_THREADS = env_int("WEB_THREADS", 4, minimum=1)  # gunicorn threads per worker process
SERVE_ACCESS_LOG = env_bool("ACCESS_LOG", True)  # one log line per request (its cost: docs/scaling.md)
# Public hits are spooled to files here (one per process, deleted once written to the database).
INGEST_DIR = env_str("INGEST_DIR", "") or str(DATA_DIR / "ingest")
INGEST_BATCH = env_int("INGEST_BATCH", 500, minimum=1)  # records per transaction; a full batch flushes at once
INGEST_INTERVAL_MS = env_int("INGEST_INTERVAL_MS", 200, minimum=10)  # the longest a hit waits for the database
INGEST_REPLAY_SECONDS = env_int("INGEST_REPLAY_SECONDS", 30, minimum=1)  # how often a process looks for dead spools
INGEST_FSYNC = env_bool("INGEST_FSYNC", False)  # fdatasync every hit: survives a machine crash, costs a disk flush
INGEST_SYNC = env_bool("INGEST_SYNC", False)  # write each hit at once in the request (tests, debugging)
# /bench/noop: a view doing nothing through the whole middleware stack, the baseline of bench/ingest_bench.py.
BENCH_NOOP_VIEW = env_bool("BENCH_NOOP_VIEW", False)

# Private addresses webhooks may reach anyway (e.g. an internal receiver); checked here so a typo fails at start.
WEBHOOK_ALLOWED_ADDRESSES = env_list("WEBHOOK_ALLOWED_ADDRESSES", [])
for _network in WEBHOOK_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ConfigError(f"WEBHOOK_ALLOWED_ADDRESSES: {_network!r} is not an IP address or CIDR network") from None

# -- wfengine (issue 9): the workflow runner -------------------------------------------------------------------
# Every workflow wait is multiplied by this (tests and demos use e.g. 0.001: "2 days" becomes about 3 minutes).
try:
    WORKFLOW_WAIT_SCALE = float(env_str("WORKFLOW_WAIT_SCALE", "1") or "1")
except ValueError:
    raise ConfigError(f"WORKFLOW_WAIT_SCALE={env_str('WORKFLOW_WAIT_SCALE')!r} is not a number") from None
if not 0 <= WORKFLOW_WAIT_SCALE <= 1000:
    raise ConfigError("WORKFLOW_WAIT_SCALE must be between 0 and 1000")
# Enrollments the runner claims at once (one lease, one transaction per step of the batch).
WORKFLOW_BATCH_SIZE = env_int("WORKFLOW_BATCH_SIZE", 500, minimum=1)
# How long a runner's claim lasts; a runner that died is taken over after this.
WORKFLOW_LEASE_SECONDS = env_int("WORKFLOW_LEASE_SECONDS", 300, minimum=5)
# Predictive lead scoring (issue 9, part predictive; smarketing/scoring/predictive/, docs/scoring.md): a model
# trains only with at least this many won and this many lost deal contacts; it retrains every N days.
PREDICTIVE_MIN_OUTCOMES = env_int("PREDICTIVE_MIN_OUTCOMES", 30, minimum=2)
PREDICTIVE_RETRAIN_DAYS = env_int("PREDICTIVE_RETRAIN_DAYS", 7, minimum=1)

# -- the sales process (issue 10): sales email capture (smarketing/process/capture/, docs/sales-process.md) --------
# Each user's BCC logging address is log+<token>@MAILIN_DOMAIN; `smarketing mailin` receives it on MAILIN_BIND
# (put it behind the company's mail server in production: route that domain to it).
MAILIN_DOMAIN = env_str("MAILIN_DOMAIN", "log.localhost").strip().lower()
if not re.fullmatch(r"[a-z0-9.-]{1,253}", MAILIN_DOMAIN or ""):
    raise ConfigError(f"MAILIN_DOMAIN={MAILIN_DOMAIN!r} is not a domain name")
MAILIN_BIND = env_str("MAILIN_BIND", "127.0.0.1:2525")
# A captured message larger than this is refused whole (SMTP 552; IMAP: skipped and reported).
MAILIN_MAX_BYTES = env_int("MAILIN_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Addresses at these domains (besides the users' own domains) are colleagues: mail among them is never logged.
INTERNAL_EMAIL_DOMAINS = [d.strip().lower() for d in env_list("INTERNAL_EMAIL_DOMAINS", []) if d.strip()]
