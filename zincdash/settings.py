"""Django settings for ZincDash.

Every value that differs between a laptop, CI and production comes from the
environment through the strict readers in zincdash.env. With no environment at
all, ZincDash runs in development mode against the local sandbox.
"""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from zincdash.env import env_bool, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

# "development" allows the insecure defaults below; "production" requires every
# secret to be set explicitly.
ZINCDASH_ENV = env_str("ZINCDASH_ENV", "development")
if ZINCDASH_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"ZINCDASH_ENV={ZINCDASH_ENV!r} is invalid; use development or production."
    )
IS_DEVELOPMENT = ZINCDASH_ENV == "development"

DEBUG = env_bool("DJANGO_DEBUG", False)


def _secret(name: str, development_default: str) -> str:
    value = env_str(name, "")
    if value:
        return value
    if IS_DEVELOPMENT:
        return development_default
    raise ImproperlyConfigured(f"{name} must be set when ZINCDASH_ENV=production.")


SECRET_KEY = _secret(
    "DJANGO_SECRET_KEY", "development-only-key-never-use-in-production-7c1f9a"
)
# Fernet key for order-scoped Zinc API keys at rest. In development it is
# derived from SECRET_KEY (see orders.crypto) when left empty.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY", "")
if not FIELD_ENCRYPTION_KEY and not IS_DEVELOPMENT:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY must be set when ZINCDASH_ENV=production; generate "
        "one with: python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'"
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "orders",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "zincdash.urls"
WSGI_APPLICATION = "zincdash.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orders.context_processors.zincdash",
            ],
        },
    },
]

# Database: SQLite by default, PostgreSQL (or anything dj-database-url reads)
# when DATABASE_URL says so.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'var' / 'zincdash.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # IMMEDIATE transactions and WAL let the web process and the worker write
    # to one file without "database is locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA busy_timeout=20000;"
        ),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # SQLite creates the file but not its folder, which a fresh clone lacks.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "orders:order-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env_str(
            "STATICFILES_BACKEND",
            "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not IS_DEVELOPMENT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# --- Zinc -------------------------------------------------------------------
# The sandbox listens on these ports by default (bin/run starts it).
ZINC_API_URL = env_url("ZINC_API_URL", "http://127.0.0.1:8101")
ZINC_CONNECT_TIMEOUT_SECONDS = env_int("ZINC_CONNECT_TIMEOUT_SECONDS", 5, minimum=1)
ZINC_READ_TIMEOUT_SECONDS = env_int("ZINC_READ_TIMEOUT_SECONDS", 30, minimum=1)
# Zinc's fee on top of max_price, used only to show an estimate before the
# first 402 arrives; the amount actually paid always comes from the challenge.
ZINC_FEE_CENTS = env_int("ZINC_FEE_CENTS", 100, minimum=0)

# --- Stripe -----------------------------------------------------------------
STRIPE_API_URL = env_url("STRIPE_API_URL", "http://127.0.0.1:8102")
STRIPE_JS_URL = env_url("STRIPE_JS_URL", "http://127.0.0.1:8102/stripe.js")
STRIPE_SECRET_KEY = _secret("STRIPE_SECRET_KEY", "sk_test_sandbox")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "pk_test_sandbox")
# Shared Payment Tokens are a Stripe preview; this version is what the MPP
# SDKs send with SPT requests.
STRIPE_API_VERSION = env_str("STRIPE_API_VERSION", "2026-07-29.preview")
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 20, minimum=1)

SANDBOX_MODE = urlsplit(ZINC_API_URL).hostname in {"127.0.0.1", "localhost", "::1"}

# --- Polling cadence (seconds) ---------------------------------------------
# Zinc suggests a first look about 7 minutes after payment, then every 3 to 5
# minutes until the order is placed; tracking then arrives over days.
POLL_FIRST_DELAY_SECONDS = env_int("POLL_FIRST_DELAY_SECONDS", 420, minimum=1)
POLL_OPEN_INTERVAL_SECONDS = env_int("POLL_OPEN_INTERVAL_SECONDS", 240, minimum=1)
POLL_PLACED_INTERVAL_SECONDS = env_int(
    "POLL_PLACED_INTERVAL_SECONDS", 6 * 3600, minimum=1
)
POLL_MAX_AGE_SECONDS = env_int("POLL_MAX_AGE_SECONDS", 30 * 86400, minimum=1)
POLL_BATCH_SIZE = env_int("POLL_BATCH_SIZE", 50, minimum=1)
POLL_CHAIN_INTERVAL_SECONDS = env_int("POLL_CHAIN_INTERVAL_SECONDS", 15, minimum=1)
# Backoff after a 5xx, timeout or unreadable answer: doubles from the base per
# consecutive failure, up to the maximum, with random jitter.
POLL_RETRY_BASE_SECONDS = env_int("POLL_RETRY_BASE_SECONDS", 30, minimum=1)
POLL_RETRY_MAX_SECONDS = env_int("POLL_RETRY_MAX_SECONDS", 3600, minimum=1)

# --- Background tasks -------------------------------------------------------
TASKS_BACKEND = env_str("TASKS_BACKEND", "db")
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
if TASKS_BACKEND == "db":
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default"],
        }
    }
elif TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL}}
elif TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
elif TASKS_BACKEND == "dummy":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
else:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND={TASKS_BACKEND!r} is invalid; use db, rq, immediate or dummy."
    )

# --- Email ------------------------------------------------------------------
MAILERS = {
    "default": {
        "BACKEND": env_str(
            "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
        )
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "zincdash@localhost")
# Absolute address of the dashboard, for links in notification emails.
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")

# --- Content Security Policy ------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def build_csp(stripe_js_url: str, stripe_api_url: str) -> dict[str, list[str]]:
    """Allow our own origin plus the Stripe.js, frame and API origins in use."""
    js_origin = _origin(stripe_js_url)
    frame_origins = [js_origin]
    # Real Stripe.js opens 3-D Secure pages from hooks.stripe.com in a frame.
    if js_origin == "https://js.stripe.com":
        frame_origins.append("https://hooks.stripe.com")
    return {
        "default-src": [CSP.SELF],
        "script-src": [CSP.SELF, CSP.NONCE, js_origin],
        "style-src": [CSP.SELF, CSP.NONCE],
        "img-src": [CSP.SELF, "data:"],
        "connect-src": [CSP.SELF, _origin(stripe_api_url), js_origin],
        "frame-src": frame_origins,
        "form-action": [CSP.SELF],
        "base-uri": [CSP.SELF],
        "frame-ancestors": [CSP.NONE],
    }


SECURE_CSP = build_csp(STRIPE_JS_URL, STRIPE_API_URL)

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # httpx logs every request URL at INFO; keep it quiet.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
        # The worker logs two lines per task run at INFO, every few seconds.
        "django.tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
    },
}
