"""Settings shared by every environment, read from the environment (django-environ).

Real parts where they are configured (``DATABASE_URL``, ``REDIS_URL``); the embedded defaults
(a SQLite file, a Celery broker in files under ``var/``, a local-memory cache) where they are not.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "accounts.apps.AdminConfig",  # the Django admin, with the staff areas' second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core",
    "accounts",
    "budgets",
    "proposals",
    "voting",
    "allocation",
    "audit",
    "pbplatform.apps.PbplatformConfig",  # last: wires the phase machine once every app is ready
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ApiBodyLimitMiddleware",  # an oversized API body is a 413 before anything reads it
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "core.middleware.RequestContextMiddleware",
    "voting.middleware.KioskLockMiddleware",  # a kiosk device stays on the kiosk's pages
]

ROOT_URLCONF = "pbplatform.urls"
WSGI_APPLICATION = "pbplatform.wsgi.application"

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
                "core.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Any URL Django supports; PostgreSQL in production (psycopg2). Unset: an embedded SQLite file.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded database, shared by a server's threads and processes: concurrent requests wait
    # for each other instead of failing with "database is locked". A write transaction takes the
    # write lock when it begins (IMMEDIATE: no deadlock upgrading a read lock half-way), a waiting
    # connection retries for up to 20 s, and readers never block the writer (WAL). Synchronous
    # stays FULL (the default): a committed transaction survives a power cut.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# --- Redis: cache, Celery broker, allauth rate limits -------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # A hung or absent Redis must never stall a page: short timeouts, errors are misses.
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "pbplatform.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions live in the database: the vote path touches PostgreSQL only.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Celery --------------------------------------------------------------------------------------
# Without Redis, the embedded broker: kombu's filesystem transport, one file per message under
# PB_VAR_DIR/celery (README: "The embedded default"). A real worker and beat read it (`make run`).
# The URL names a host only because kombu warns about a URL without one; the transport ignores it.
PB_VAR_DIR = Path(env("PB_VAR_DIR", default=str(BASE_DIR / "var")))
CELERY_BROKER_URL = REDIS_URL or "filesystem://localhost/"
# PB_CELERY_EAGER=true runs tasks in-process instead (a script with no worker, e.g. bench/); the test
# settings default to it.
CELERY_TASK_ALWAYS_EAGER = env.bool("PB_CELERY_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 10 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 9 * 60
CELERY_TIMEZONE = "UTC"
# A hung broker must not hang a request that publishes a task after commit.
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": 1.0,
        "socket_connect_timeout": 1.0,
        "max_retries": 1,
        "visibility_timeout": 3600,
    }
else:
    # The folders are created by the Celery app (pbplatform/celery.py) when it loads.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(PB_VAR_DIR / "celery" / "messages"),
        "data_folder_out": str(PB_VAR_DIR / "celery" / "messages"),
        "control_folder": str(PB_VAR_DIR / "celery" / "control"),
        "store_processed": False,
        "polling_interval": 0.5,
    }
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# The beat schedule, in one place.
CELERY_BEAT_SCHEDULE = {
    "advance-due-cycles": {
        "task": "budgets.tasks.cycles_advance_due",
        # Seconds between runs; the scheduler's heartbeat counts as stale after a few of these
        # (core.selectors.scheduler_state).
        "schedule": env.float("PB_SCHEDULER_INTERVAL", default=60.0),
    },
    # The outbox drain: every 10 s, each run empties the backlog (or spends its time budget); runs
    # that overlap share the work (SKIP LOCKED), and a run left waiting in the queue expires.
    "retry-unsent-notifications": {
        "task": "core.tasks.notifications_retry_unsent",
        "schedule": 10.0,
        "options": {"expires": 10.0},
    },
}

# --- Auth: custom user, allauth, MFA -------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "pbplatform"

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("DJANGO_EMAIL_FILE_PATH", default=str(PB_VAR_DIR / "mail"))  # the file-based backend's
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="pbplatform <noreply@localhost>")

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"

# --- REST API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "core.api_renderers.BrowsableAPIRenderer"],
    "EXCEPTION_HANDLER": "core.api.problem_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.api_input.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api_input.Pagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Request bodies the API reads: JSON and forms up to Django's in-memory limit; uploads (multipart)
# up to a photo's limit and some. Larger ones are refused with a 413 before they are read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default, named here because the API limit follows it
PB_API_MAX_BODY_BYTES = env.int("PB_API_MAX_BODY_BYTES", default=DATA_UPLOAD_MAX_MEMORY_SIZE)
PB_API_MAX_UPLOAD_BYTES = env.int("PB_API_MAX_UPLOAD_BYTES", default=8 * 1024 * 1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "pbplatform API",
    "DESCRIPTION": "Participatory budgeting: cycles, districts, phases. Errors are RFC 7807 problem details.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.problem_responses_hook",
    ],
    "ENUM_NAME_OVERRIDES": {
        "PhaseEnum": "budgets.phases.Phase",
        "IdeaStatusEnum": "proposals.models.Idea.Status",
        "ReceiptStatusEnum": "voting.api.RECEIPT_STATUSES",
    },
}

# --- Logging -------------------------------------------------------------------------------------
# Never request bodies, access or receipt codes, or ballot ids: the redaction filter drops the
# request object from every record and masks anything that looks like a code (core/logging.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "core.logging.RedactFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # Refused requests (core.security): a dedicated logger, so a deployment can route it apart
        # (it reaches the console through the root logger).
        "pbplatform.security": {"level": "INFO"},
    },
}

# --- Platform --------------------------------------------------------------------------------------
PB_SITE_NAME = env("PB_SITE_NAME", default="pbplatform")
PB_ALLOW_DEMO = True
# The optional map on idea pages (progressive enhancement: the address alone always works).
PB_MAP_TILE_URL = env("PB_MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
PB_MAP_ATTRIBUTION = env(
    "PB_MAP_ATTRIBUTION",
    default='© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)
PB_MAP_CENTER = env("PB_MAP_CENTER", default="40.7178,-74.0431")  # "lat,lng" where the map starts
# SMS for phone verification: a class with send(phone, text); a real provider plugs in here.
PB_SMS_BACKEND = env("PB_SMS_BACKEND", default="core.sms.ConsoleBackend")
# The audit bundle and the archive (audit app): a published group (district × channel) with fewer
# ballots than this is merged; identities are erased this many days after the results.
PB_SMALL_CELL = env.int("PB_SMALL_CELL", default=10)
PB_RETENTION_DAYS = env.int("PB_RETENTION_DAYS", default=365)
# Built bundles live outside MEDIA_ROOT (which a web server serves publicly): only the audit views
# hand them out, after their permission check.
PB_BUNDLE_ROOT = env.path("PB_BUNDLE_ROOT", default=BASE_DIR / "private" / "bundles")
# Kiosks: a voter's page that sees no interaction for this long asks "Are you still here?", then
# returns to the start if nobody answers in time (the kiosk stays open; see voting/services/kiosk.py).
PB_KIOSK_IDLE_SECONDS = env.int("PB_KIOSK_IDLE_SECONDS", default=180)
PB_KIOSK_WARNING_SECONDS = env.int("PB_KIOSK_WARNING_SECONDS", default=30)  # time to answer; 20 at least
# Uploaded files are served by proposals.views.media after its visibility check. Behind nginx, set
# this to an internal location (e.g. "/protected-media/") and the view answers with an
# X-Accel-Redirect header instead of streaming the file itself.
PB_MEDIA_ACCEL_REDIRECT = env("PB_MEDIA_ACCEL_REDIRECT", default="")

# Refused requests go to the "pbplatform.security" log (core.security), at most this many lines a
# minute per client (account, else IP).
PB_DENIAL_LOG_PER_MINUTE = env.int("PB_DENIAL_LOG_PER_MINUTE", default=60)


# --- Browser security headers -----------------------------------------------------------------------
# A strict content security policy (django-csp): scripts, styles, fonts, frames and fetches from this
# site only; no inline script or style anywhere (templates link static files); images from this site,
# the map tiles' origin and data: URIs (the TOTP set-up QR code, Swagger UI's icons). No nonces are
# needed: the API docs use drf-spectacular's split view, whose start-up script is a separate request.
def _tile_origin(url: str) -> str | None:
    """``https://{s}.tile.example.org/{z}/{x}/{y}.png`` → ``https://*.tile.example.org``; None for a
    tile URL on this site (a path)."""
    parts = urlsplit(url)
    if not (parts.scheme and parts.netloc):
        return None
    host = re.sub(r"^\{[^}]*\}", "*", parts.netloc)  # a {s} subdomain placeholder: any subdomain
    return f"{parts.scheme}://{host}"


PB_MAP_TILE_ORIGIN = _tile_origin(PB_MAP_TILE_URL)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *([PB_MAP_TILE_ORIGIN] if PB_MAP_TILE_ORIGIN else [])],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
# The full URL never leaves the site; other origins (the map tile server, whose usage policy asks
# for one) see only this site's origin.
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
# Browser features the pages never use are switched off for them and anything they might embed.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "autoplay": [],
    "browsing-topics": [],
    "camera": [],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "usb": [],
}
