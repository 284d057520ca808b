"""When each task runs, as beat holds it in memory.

Per enabled task beat keeps only a :class:`TaskPlan`: a few slots pointing at a
shared schedule object and a shared, interned
:class:`~django_periodic.timing.plans.RunState`. :class:`PlanQueue` orders the
plans by the time their next run goes out.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from celery.schedules import schedule as interval

from ..timing.plans import ON_TIME, RunState, is_missed, jitter, run_after

logger = logging.getLogger("django_periodic.beat")


class TaskPlan:
    """When one task runs next: its schedule, its run state and its next slot."""

    __slots__ = ("jitter_seconds", "model_id", "next_run_at", "one_off", "schedule", "state")

    def __init__(
        self, model_id: Any, schedule: Any, state: RunState, one_off: bool = False, jitter_seconds: Any = None
    ) -> None:
        self.model_id = model_id
        self.schedule = schedule
        self.state = state
        self.one_off = one_off
        self.jitter_seconds = jitter_seconds
        #: the scheduled time of the next run (its identity) ...
        self.next_run_at: datetime | None = None

    def due_at(self, slot: datetime) -> datetime:
        """... and when it goes out: the slot plus the task's jitter for that run."""
        if not self.jitter_seconds:
            return slot
        try:
            return slot + jitter(self.model_id, slot, self.jitter_seconds)
        except OverflowError:  # a slot near the end of the calendar (year 9999): no room to delay
            return slot

    def is_missed(self, slot: datetime, now: datetime) -> bool:
        """Whether the run of ``slot`` is too late to send under the task's policy (lateness
        counts from when it was due: its slot plus its jitter)."""
        if self.jitter_seconds:
            now -= self.due_at(slot) - slot
        return is_missed(self.schedule, self.state, slot, now)

    def following(self, slot: datetime, now: datetime) -> datetime | None:
        """The run after ``slot`` if it is sent at ``now``; None when the task ends."""
        if self.one_off:
            return None
        return run_after(self.schedule, slot, now, self.state, now - self.due_at(slot))

    def __lt__(self, other: TaskPlan) -> bool:
        # Heap items are (due, task id, plan): a tie on both is a stale and a live
        # item of the same task, and either order is right.
        return False

    def __repr__(self) -> str:
        return f"<TaskPlan: task {self.model_id} next={self.next_run_at}>"


class PlanQueue:
    """The plans of the loaded tasks, by task id, and a heap of when their runs go out.

    A plan replaced or dropped leaves its heap item behind; the item is skipped when
    it surfaces (lazy removal), so an edit costs O(log n), never a rebuild.
    """

    def __init__(self) -> None:
        #: task id -> plan, for every enabled task that has a next run
        self.by_id: dict[Any, TaskPlan] = {}
        #: (goes out at, task id, plan): its next slot plus the task's jitter
        self.heap: list[tuple[datetime, Any, TaskPlan]] = []
        #: task id -> why its plan failed while its runs were being sent (beat stores it
        #: as the row's ``load_error`` and takes the rest of the schedule on)
        self.errors: dict[Any, str] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.by_id)

    def get(self, task_id: Any) -> TaskPlan | None:
        return self.by_id.get(task_id)

    def clear(self) -> None:
        self.by_id.clear()
        self.heap.clear()

    def load(self, plans: Iterator[TaskPlan]) -> None:
        """Replace everything with ``plans`` (a full read): one heapify, not n pushes."""
        self.clear()
        for plan in plans:
            self.by_id[plan.model_id] = plan
            self.heap.append((plan.due_at(plan.next_run_at), plan.model_id, plan))  # type: ignore[arg-type]
        heapq.heapify(self.heap)

    def add(self, plan: TaskPlan) -> None:
        """Add or replace the plan of a task."""
        self.by_id[plan.model_id] = plan
        self.push(plan)

    def push(self, plan: TaskPlan) -> None:
        """Queue the plan's next run (``next_run_at`` is set)."""
        slot = plan.next_run_at
        assert slot is not None
        heapq.heappush(self.heap, (plan.due_at(slot), plan.model_id, plan))

    def drop(self, task_id: Any) -> None:
        self.by_id.pop(task_id, None)

    def next_due_at(self) -> datetime | None:
        """When the first queued run goes out (it may belong to a dropped plan)."""
        return self.heap[0][0] if self.heap else None

    def pop_due(self, now: datetime) -> list[tuple[TaskPlan, datetime]]:
        """Every (plan, slot) due at ``now``; stale heap items are dropped on the way."""
        due = []
        heap = self.heap
        by_id = self.by_id
        while heap and heap[0][0] <= now:
            due_at, task_id, plan = heapq.heappop(heap)
            slot = plan.next_run_at
            if by_id.get(task_id) is plan and slot is not None and plan.due_at(slot) == due_at:
                due.append((plan, slot))
        return due

    def skip_missed(
        self, due: list[tuple[TaskPlan, datetime]], now: datetime
    ) -> tuple[list[tuple[TaskPlan, datetime, datetime | None]], list[tuple[TaskPlan, datetime]]]:
        """The (plan, slot, following slot) to send; the runs the task's missed-run policy skips
        move the plan on.

        Tasks that share a schedule, a run state and a slot (a burst: thousands of
        tasks at minute 0) share the answer: it is computed once per group.
        """
        answers: dict[tuple[Any, ...], tuple[bool, datetime | None]] = {}
        sending: list[tuple[TaskPlan, datetime, datetime | None]] = []
        missed_runs: list[tuple[TaskPlan, datetime]] = []
        for plan, slot in due:
            # Both live meanwhile. A jittered run is due at its own time: an interval's next run,
            # and whether a late run is missed, count from it (an on-time crontab burst shares).
            own = plan.jitter_seconds and (type(plan.schedule) is interval or now - slot > ON_TIME)
            key = (id(plan.schedule), id(plan.state), slot, plan.one_off, own and plan.model_id)
            answer = answers.get(key)
            if answer is None:
                try:
                    answer = answers[key] = (plan.is_missed(slot, now), plan.following(slot, now))
                except OverflowError as exc:  # no next run before the year 9999: this run is the last
                    self.errors[plan.model_id] = f"it has no next run: {exc}"
                    answer = (False, None)
                except Exception as exc:  # one row's schedule must not stop the others
                    self._fail(plan, "its next run cannot be computed", exc)
                    continue
            missed, following = answer
            if not missed:
                sending.append((plan, slot, following))
                continue
            plan.next_run_at = following
            missed_runs.append((plan, slot))
            logger.warning(
                "Run of task %s at %s skipped: %.0fs late, past its grace period.",
                plan.model_id,
                slot.isoformat(),
                (now - slot).total_seconds(),
            )
            if following is not None:
                self.push(plan)
        return sending, missed_runs

    def _fail(self, plan: TaskPlan, doing: str, exc: Exception) -> None:
        reason = f"{doing}: {exc}" if f"{exc}" else f"{doing}: {type(exc).__name__}"
        logger.error("Task id %s leaves the schedule until its row is edited: %s", plan.model_id, reason)
        self.errors[plan.model_id] = reason
        self.drop(plan.model_id)

    def take_errors(self) -> dict[Any, str]:
        """The errors met since the last call (see :attr:`errors`), forgotten here."""
        errors, self.errors = self.errors, {}
        return errors

    def advance(self, sent: list[tuple[TaskPlan, datetime, datetime | None]], now: datetime) -> None:
        """Give each task that was sent at ``now`` its new run state and queue its next run.

        The new run states are interned: tasks sent together share one object again
        (keyed by identity, the old state held in the value so no id is reused meanwhile).
        """
        sent_states: dict[int, tuple[RunState, RunState]] = {}
        interned: dict[RunState, RunState] = {}
        for plan, _slot, following in sent:
            old = plan.state
            known = sent_states.get(id(old))
            if known is None:
                state = replace(old, last_run_at=now, anchor=None)
                known = sent_states[id(old)] = (old, interned.setdefault(state, state))
            plan.state = known[1]
            plan.next_run_at = following
            if following is None:
                self.drop(plan.model_id)
            else:
                self.push(plan)
