"""Django settings shared by both implementations; the database comes from the environment.

BENCH_DB       sqlite | postgresql
BENCH_DB_NAME  SQLite file path, or PostgreSQL database name
PG*            PostgreSQL address (default 127.0.0.1:5432, user postgres, no password)

Everything else is Django's default, CONN_MAX_AGE=0 included, as a project that
adds a scheduler to its settings has it.
"""

import os

SECRET_KEY = "benchmark-not-secret"
DEBUG = False  # True would keep every query in memory
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

if os.environ.get("BENCH_DB", "sqlite") == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["BENCH_DB_NAME"],
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_DB_NAME"]}}
