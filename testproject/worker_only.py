"""A task only the worker imports (``celery worker -I testproject.worker_only``): beat sends it by name."""

from celery import shared_task

from .tasks import store_run


@shared_task(bind=True, name="testproject.worker_only.record")
def record(self, *args, **kwargs):
    """Store one row per execution, as ``testproject.tasks.record_run`` does."""
    store_run(self.request, args, kwargs)
