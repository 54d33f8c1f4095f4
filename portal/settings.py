"""Settings for the DingTalk ⇄ Kingdee portal, read from the environment.

Every variable is listed in `.env.example` and in the README's configuration table.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEV_SECRET_KEY = "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuv"


def required(name, default):
    """In production a variable must be set; in development fall back to a default."""
    if PRODUCTION and name not in env.ENVIRON:
        raise ImproperlyConfigured(f"Set the {name} environment variable (required when DEBUG=False).")
    return env.str(name, default=default)


TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off", ""}


def env_bool(name, default):
    """Stricter than environ's bool, which reads any unknown word as False."""
    value = env.str(name, default=str(default)).strip().lower()
    if value not in TRUE_WORDS | FALSE_WORDS:
        raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")
    return value in TRUE_WORDS


def env_int(name, default):
    try:
        return env.int(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number.") from exc


DEBUG = env_bool("DEBUG", default=True)
# Production mode refuses the development defaults below.
PRODUCTION = not DEBUG

SECRET_KEY = required("SECRET_KEY", DEV_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Comma-separated, newest first: new rows use the first key, every key can read.
FERNET_KEYS = env.list("FERNET_KEYS", default=[]) or [required("FERNET_KEYS", SECRET_KEY)]
if PRODUCTION and any(len(key) < 32 for key in FERNET_KEYS):
    raise ImproperlyConfigured("Every key in FERNET_KEYS must be at least 32 characters long.")

PORTAL_SANDBOX = env_bool("PORTAL_SANDBOX", default=DEBUG)
if PORTAL_SANDBOX and PRODUCTION:
    raise ImproperlyConfigured("PORTAL_SANDBOX must be off when DEBUG=False: the sandbox is never served in production.")

# Links in alerts and work notices point here (e.g. https://portal.example.com).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "import_export",
    "portal",
    "integrations",
    "sso",
    "mobile",
]
if PORTAL_SANDBOX:
    # devtools (demo set-up, benchmarks) needs the sandbox; nothing of the product imports either.
    INSTALLED_APPS += ["sandbox", "sandbox.dingtalk", "sandbox.kingdee", "devtools"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Scheme versions saved during a request name its user.
    "integrations.versions.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Host names (any port) on which the sandbox answers as DingTalk at the root, as api.dingtalk.com and
# oapi.dingtalk.com do, so that official SDKs reach it given only a host and port.
SANDBOX_DINGTALK_HOSTS = env.list("SANDBOX_DINGTALK_HOSTS", default=[])
# Event senders per sandbox process. DingTalk's gateway pushes many events at once: the benchmarks at DingTalk's
# rate set more (at 19 approvals a second four senders fell behind by a minute); the demo and tests keep four.
SANDBOX_PUSH_THREADS = env.int("SANDBOX_PUSH_THREADS", default=4)
# Deliver pushes from `manage.py sandbox_push` instead of the web process (the benchmarks: the push then does not
# share one interpreter with the sandbox's API, whose quota window lives in a single process).
SANDBOX_PUSH_PROCESS = env.bool("SANDBOX_PUSH_PROCESS", default=False)
if PORTAL_SANDBOX:
    MIDDLEWARE.insert(0, "sandbox.dingtalk.root.DingTalkHostMiddleware")
    ALLOWED_HOSTS += [host for host in SANDBOX_DINGTALK_HOSTS if host not in ALLOWED_HOSTS]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The django-q2 ORM broker and the web server write concurrently: IMMEDIATE
    # transactions take the write lock up front (no deadlocking upgrade from a read
    # lock), WAL lets readers run beside the writer, the timeout waits for the lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Seconds a connection is kept between requests and tasks (0: one per request), as PostgreSQL's are. Opening one
    # runs the PRAGMAs above: about half of an SSO login's CPU, a sixth of the event workers'. Kept connections are
    # tested with web threads and a worker process writing at once, django-q2's worker loop, another process's
    # migration and a replaced database file (tests/perf/test_sqlite_connections.py).
    DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("SQLITE_CONN_MAX_AGE", default=60))
    # The health check (once per request or task) closes a kept connection whose file was replaced (portal.sqlite3).
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    DATABASES["default"]["ENGINE"] = "portal.sqlite3"
    # A file, not memory: live-server tests and worker processes share the test database.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=str(BASE_DIR / "var" / "test.sqlite3"))}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Where rate budgets and quota counters live: "redis", "database", or "local" (one process only).
RATE_LIMIT_STORE = env.str("RATE_LIMIT_STORE", default="redis" if REDIS_URL else "database")
if RATE_LIMIT_STORE not in ("redis", "database", "local") or (RATE_LIMIT_STORE == "redis" and not REDIS_URL):
    raise ImproperlyConfigured("RATE_LIMIT_STORE must be redis (with REDIS_URL set), database or local.")
# A finished DingTalk approval read once is not read again within this many seconds (0: always read).
DINGTALK_DETAIL_MEMO_SECONDS = env_int("DINGTALK_DETAIL_MEMO_SECONDS", default=600)
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared by the web server and every worker process (tokens, rate windows, the memo of finished approvals).
    # Django's default of 300 entries is culled a third at a time once full: at DingTalk's 20 reads a second the
    # ten-minute memo of finished approvals alone holds thousands, and culling would drop them (and tokens) early.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache",
                          "OPTIONS": {"MAX_ENTRIES": 20000}}}

Q_CLUSTER = {
    "name": "portal",
    "workers": env_int("Q_WORKERS", default=2),
    # A sync run can take long (a backfill); retry must exceed timeout or the
    # broker hands the same task to a second worker while the first still runs.
    "timeout": env_int("Q_TIMEOUT", default=3600),
    "retry": env_int("Q_TIMEOUT", default=3600) + 600,
    # Never let the broker replay a task on its own: a replayed write task could
    # book a bill twice. The engine retries through its ledger instead.
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.2,
    "label": _("Task queue"),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request until collectstatic made it
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"

# SSO endpoints: at most this many requests per client IP per window (seconds); X-Forwarded-For is
# believed only from these reverse proxies, so a client cannot pick its own address.
SSO_RATE_LIMIT = (env_int("SSO_RATE_LIMIT_REQUESTS", default=60), env_int("SSO_RATE_LIMIT_SECONDS", default=60))
SSO_TRUSTED_PROXIES = env.list("SSO_TRUSTED_PROXIES", default=[])

# Exports are opened in Excel: a cell starting with "=" must not run as a formula.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
# Exporting needs the view permission, importing the add permission (the default lets any staff user export).
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A sync run holds its scheme by a lease it renews; a dead worker's lease runs out after this many seconds.
SYNC_LEASE_SECONDS = env_int("SYNC_LEASE_SECONDS", default=30)
# A write whose answer was lost may still land at the remote this long after the client gave up waiting (seconds):
# until then a record Kingdee does not show yet stays in flight instead of being written again.
SYNC_OUTCOME_HORIZON_SECONDS = env_int("SYNC_OUTCOME_HORIZON_SECONDS", default=60)
# DingTalk callbacks older than this (seconds, by their signed timestamp) are refused as replays.
DINGTALK_CALLBACK_MAX_AGE = env_int("DINGTALK_CALLBACK_MAX_AGE", default=600)
# `prune_logs` deletes log rows (logins, DingTalk events, alerts, task results, admin history) older than this;
# never the ledger (sync records), runs or scheme versions.
LOG_RETENTION_DAYS = env_int("LOG_RETENTION_DAYS", default=183)
# Multiplies the waits between retries of remote calls (tests set 0).
REMOTE_RETRY_WAIT_SCALE = env.float("REMOTE_RETRY_WAIT_SCALE", default=1.0)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "portal.logs.MaskSecretsFilter"}},
    "formatters": {"line": {"()": "portal.logs.SingleLineFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
            "filters": ["mask_secrets"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Replace Django's own console handler, so each record is printed once, masked, as JSON.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "INFO"},
        "urllib3": {"level": "WARNING"},
    },
}
