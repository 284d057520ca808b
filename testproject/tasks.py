"""Sample tasks: each run is recorded in the database so tests and the demo can see it."""

from celery import shared_task
from celery.utils.log import get_task_logger

logger = get_task_logger(__name__)


def store_run(request, args, kwargs):
    """One row for an execution: task id, periodic task name, arguments, queue, priority."""
    from .models import TaskRun

    headers, delivery = request.headers or {}, request.delivery_info or {}
    name = headers.get("periodic_task_name") or getattr(request, "periodic_task_name", "")
    TaskRun.objects.create(
        task_id=request.id or "",
        periodic_task_name=name or "",
        args=list(args),
        kwargs=kwargs,
        queue=delivery.get("routing_key") or "",
        priority=delivery.get("priority"),
    )


@shared_task(bind=True)
def record_run(self, *args, **kwargs):
    """Store one row per execution: task id, periodic task name, arguments."""
    store_run(self.request, args, kwargs)
    return len(args)


@shared_task
def add(x, y):
    """Add two numbers (the classic)."""
    return x + y


@shared_task
def say(message="hello"):
    """Log a message."""
    logger.info("say: %s", message)
    return message


@shared_task(bind=True)
def record_slowly(self, seconds=2.0):
    """Record the run as ``record_run`` does, then take ``seconds`` to finish."""
    import time

    from .models import TaskRun

    TaskRun.objects.create(
        task_id=self.request.id or "",
        periodic_task_name=getattr(self.request, "periodic_task_name", "") or "",
        kwargs={"seconds": seconds},
    )
    time.sleep(float(seconds))
