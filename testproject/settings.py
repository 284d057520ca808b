"""Settings for the demo and the tests; the database and broker come from the environment.

DJANGO_PERIODIC_DB       sqlite (default) | postgresql | mysql
DJANGO_PERIODIC_DB_NAME  database name (SQLite: file path)
CELERY_BROKER_URL        default: the filesystem transport under var/broker (no server)
"""

import json
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DJANGO_PERIODIC_VAR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-periodic-testproject-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_periodic",
    "testproject",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "testproject.urls"
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
WSGI_APPLICATION = "testproject.wsgi.application"

_engine = os.environ.get("DJANGO_PERIODIC_DB", "sqlite")
# tox runs environments side by side: give each its own database.
_default_name = "django_periodic" + (
    "_" + os.environ["TOX_ENV_NAME"].replace("-", "_") if os.environ.get("TOX_ENV_NAME") else ""
)
if _engine == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("DJANGO_PERIODIC_DB_NAME", _default_name),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
        }
    }
elif _engine == "mysql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ.get("DJANGO_PERIODIC_DB_NAME", _default_name),
            "USER": os.environ.get("MYSQL_USER", "root"),
            "HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("MYSQL_PORT", "3306"),
            "PASSWORD": os.environ.get("MYSQL_PASSWORD", ""),
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    }
elif _engine == "sqlite":
    _sqlite_name = os.environ.get("DJANGO_PERIODIC_DB_NAME", str(VAR_DIR / "db.sqlite3"))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _sqlite_name,
            # Beat, workers and the web process share the file: wait for locks.
            "OPTIONS": {
                "timeout": float(os.environ.get("DJANGO_PERIODIC_SQLITE_TIMEOUT", "20")),
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
            "TEST": {"NAME": os.environ.get("DJANGO_PERIODIC_TEST_DB_NAME", str(VAR_DIR / "test.sqlite3"))},
        }
    }
else:
    raise RuntimeError(f"DJANGO_PERIODIC_DB={_engine!r}: use sqlite, postgresql or mysql")

LANGUAGE_CODE = "en-us"
# English and every language django_periodic ships a catalogue for.
LANGUAGES = [
    ("en", "English"),
    ("de", "German"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("ja", "Japanese"),
    ("pt-br", "Brazilian Portuguese"),
    ("zh-hans", "Simplified Chinese"),
]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# Celery: read with namespace CELERY_ by testproject/celery.py.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
_broker_dir = Path(os.environ.get("DJANGO_PERIODIC_BROKER_DIR", VAR_DIR / "broker"))
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # RabbitMQ: wait for the broker's confirmation of each publish, so a message lost
    # on a dying connection raises (and beat retries it) instead of vanishing.
    else {"confirm_publish": True}
    if CELERY_BROKER_URL.startswith("amqp")
    else {}
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_periodic.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# No result backend, so no results to expire: without this, beat would add Celery's daily
# celery.backend_cleanup entry (result_expires defaults to one day), a task that cleans nothing.
CELERY_RESULT_EXPIRES = None

LOGGING = {"version": 1, "disable_existing_loggers": False}

DJANGO_PERIODIC = {
    "POLL_INTERVAL": float(os.environ.get("DJANGO_PERIODIC_POLL_INTERVAL", "0.5")),
    # Only the tests set TESTPROJECT_CLOCK_OFFSET, to move beat's clock.
    "CLOCK": "testproject.clock.now"
    if os.environ.get("TESTPROJECT_CLOCK_OFFSET") or os.environ.get("TESTPROJECT_CLOCK_START")
    else None,
    "HEARTBEAT_DIR": str(VAR_DIR / "heartbeat"),
    # Tests give more settings as JSON: {"LEASE_SECONDS": 2, "METRICS_PORT": 9808, ...}
    **json.loads(os.environ.get("TESTPROJECT_DJANGO_PERIODIC") or "{}"),
}

# Schedules defined in code, given as JSON by tests: {"name": {"task": ..., "schedule": seconds, ...}}
if os.environ.get("TESTPROJECT_BEAT_SCHEDULE"):
    CELERY_BEAT_SCHEDULE = json.loads(os.environ["TESTPROJECT_BEAT_SCHEDULE"])

# Celery's routing, given as JSON by tests: {"task name": {"queue": ...}}
if os.environ.get("TESTPROJECT_TASK_ROUTES"):
    import json

    CELERY_TASK_ROUTES = json.loads(os.environ["TESTPROJECT_TASK_ROUTES"])

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
