"""The Celery app of the test project."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")

app = Celery("testproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The filesystem broker (the no-server default) needs its folders to exist.
for folder in (app.conf.broker_transport_options or {}).values():
    if isinstance(folder, str) and folder.startswith("/"):
        Path(folder).mkdir(parents=True, exist_ok=True)
