"""What the four schedule tables share: writes that move the change feed, validation on save."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, router, transaction

from .querysets import PeriodicTaskQuerySet, ScheduleQuerySet, bump_tasks_using, lock_counter, natural_key_of


class ScheduleModel(models.Model):
    """Shared behaviour of the four schedule tables."""

    #: The foreign key on PeriodicTask that points at this model.
    task_field = ""

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.validate_for_save()
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            version = None if self._state.adding else lock_counter(using)
            super().save(*args, **kwargs)
            if version is not None:
                bump_tasks_using(type(self), [self.pk], using, version)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        # Tasks first: on MySQL Django's cascade would set their foreign key to NULL
        # before deleting them, which the one-schedule constraint refuses.
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            lock_counter(using)
            self.tasks.using(using).delete()
            return super().delete(*args, **kwargs)

    def validate_for_save(self) -> None:
        """Run the checks that need no query (fields and ``clean()``)."""
        errors: dict[str, Any] = {}
        for check in (self.clean_fields, self.clean):
            try:
                check()
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    natural_key = natural_key_of  # its values, for dumpdata --natural-foreign

    @property
    def schedule(self) -> Any:
        """The Celery schedule object this row describes."""
        raise NotImplementedError

    @property
    def tasks(self) -> PeriodicTaskQuerySet:
        """The periodic tasks that use this schedule."""
        task_model = self._meta.apps.get_model("django_periodic", "PeriodicTask")
        return task_model.objects.filter(**{self.task_field: self})
