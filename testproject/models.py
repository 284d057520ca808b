"""A record of each task execution, written by the worker (tests and the demo read it)."""

from django.db import models


class TaskRun(models.Model):
    """One execution of ``testproject.tasks.record_run``."""

    task_id = models.CharField(max_length=64, db_index=True)
    periodic_task_name = models.CharField(max_length=200, blank=True, db_index=True)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    queue = models.CharField(max_length=200, blank=True)
    priority = models.IntegerField(null=True)
    ran_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.periodic_task_name or self.task_id} at {self.ran_at}"
