"""A task only the worker imports (``celery worker -I testproject.worker_only``): beat sends it by name."""

from celery import shared_task


@shared_task(bind=True, name="testproject.worker_only.record")
def record(self, *args, **kwargs):
    """Store one row per execution, as ``testproject.tasks.record_run`` does."""
    from .models import TaskRun

    headers = self.request.headers or {}
    TaskRun.objects.create(
        task_id=self.request.id or "",
        periodic_task_name=headers.get("periodic_task_name")
        or getattr(self.request, "periodic_task_name", "")
        or "",
        args=list(args),
        kwargs=kwargs,
    )
