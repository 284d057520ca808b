"""Late runs and spacing; missed_runs="all" at a cost that does not grow with the outage."""

from datetime import UTC, datetime, timedelta

import pytest
from celery.schedules import schedule as interval

from django_periodic.beat.plans import PlanQueue, TaskPlan
from django_periodic.timing.plans import MISSED_ALL, RunState, first_run, most_recent_runs, run_after
from django_periodic.timing.schedules import TzAwareCrontab

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOURLY_CRON = TzAwareCrontab("0", "*", tz="UTC")
EVERY_HOUR = interval(timedelta(hours=1))
EVERY_SECOND = interval(timedelta(seconds=1))
MINUTELY_CRON = TzAwareCrontab("*", "*", tz="UTC")


def at(**delta):
    return NOW + timedelta(**delta)


def send_all_due(plan: TaskPlan, now: datetime) -> list[tuple[datetime, datetime]]:
    """(slot, sent at) of each run beat sends at ``now`` (one tick), the plan moved on."""
    queue = PlanQueue()
    queue.add(plan)
    sent = []
    for _ in range(100):
        due = queue.pop_due(now)
        if not due:
            return sent
        sending, _missed = queue.skip_missed(due, now)
        sent += [(slot, now) for _plan, slot, _following in sending]
        queue.advance(sending, now)
    raise AssertionError("still due after 100 rounds")


def test_an_interval_run_sent_late_is_not_followed_at_once_by_the_next():
    # created just before beat started: due at 15.77, sent at 16.747 as beat came up
    created = at(seconds=14.77)
    plan = TaskPlan(1, EVERY_SECOND, RunState(None, anchor=created))
    plan.next_run_at = first_run(EVERY_SECOND, plan.state, at(seconds=16.747))
    assert plan.next_run_at == at(seconds=15.77)
    assert send_all_due(plan, at(seconds=16.747)) == [(at(seconds=15.77), at(seconds=16.747))]
    assert plan.next_run_at == at(seconds=17.747)  # one interval after it went out, not 16.77


def test_an_hourly_interval_after_59_minutes_down_runs_an_hour_after_the_catch_up():
    plan = TaskPlan(1, EVERY_HOUR, RunState(at(hours=-1)))  # last ran 11:00
    plan.next_run_at = first_run(EVERY_HOUR, plan.state, at(minutes=59))
    assert plan.next_run_at == NOW  # 12:00, missed while beat was down
    assert send_all_due(plan, at(minutes=59)) == [(NOW, at(minutes=59))]
    assert plan.next_run_at == at(hours=1, minutes=59)
    # and a restart computes the same from the stored last run: one interval after it
    assert first_run(EVERY_HOUR, RunState(at(minutes=59)), at(minutes=59, seconds=1)) == plan.next_run_at


def test_an_hourly_crontab_keeps_its_times_after_a_late_run():
    plan = TaskPlan(1, HOURLY_CRON, RunState(at(hours=-1)))
    plan.next_run_at = first_run(HOURLY_CRON, plan.state, at(minutes=59))
    assert send_all_due(plan, at(minutes=59)) == [(NOW, at(minutes=59))]
    assert plan.next_run_at == at(hours=1)  # 13:00 stays 13:00: the README's rule for crontabs


def test_an_interval_sent_on_time_keeps_its_grid():
    plan = TaskPlan(1, EVERY_SECOND, RunState(None, anchor=at(seconds=-1)))
    plan.next_run_at = NOW
    send_all_due(plan, NOW)
    assert plan.next_run_at == at(seconds=1)


def test_a_jittered_interval_counts_from_its_due_time_not_its_slot():
    plan = TaskPlan(7, EVERY_HOUR, RunState(None, anchor=at(hours=-1)), jitter_seconds=600)
    plan.next_run_at = NOW
    due = plan.due_at(NOW)
    assert NOW < due < at(minutes=10)
    send_all_due(plan, due)
    assert plan.next_run_at == at(hours=1)  # sent when due: the grid holds, the jitter does not add up


def test_missed_all_sends_the_most_recent_runs_after_five_days_down():
    state = RunState(at(days=-5), missed=MISSED_ALL, missed_limit=10)
    plan = TaskPlan(1, EVERY_SECOND, state)
    plan.next_run_at = first_run(EVERY_SECOND, state, NOW)
    sent = send_all_due(plan, NOW)
    assert [slot for slot, _at in sent] == [at(seconds=-9 + i) for i in range(10)]


@pytest.mark.parametrize("down", [timedelta(days=1), timedelta(days=365), timedelta(days=3650)])
def test_missed_all_on_a_minutely_crontab_costs_the_same_whatever_the_outage(monkeypatch, down):
    calls = 0
    real = TzAwareCrontab.next_run

    def counted(self, after):
        nonlocal calls
        calls += 1
        return real(self, after)

    monkeypatch.setattr(TzAwareCrontab, "next_run", counted)
    state = RunState(NOW - down, missed=MISSED_ALL, missed_limit=10)
    planned = first_run(MINUTELY_CRON, state, NOW)
    assert planned == at(minutes=-9)
    assert calls <= 30


@pytest.mark.parametrize(
    ("schedule", "first", "limit", "expected"),
    [
        (
            EVERY_HOUR,
            at(hours=-5, minutes=-30),
            3,
            [at(hours=-2, minutes=-30), at(hours=-1, minutes=-30), at(minutes=-30)],
        ),
        (EVERY_HOUR, at(minutes=-30), 3, [at(minutes=-30)]),
        (HOURLY_CRON, at(hours=-5), 2, [at(hours=-1), NOW]),
        (HOURLY_CRON, at(hours=-1), 5, [at(hours=-1), NOW]),
        (
            TzAwareCrontab("0", "0", day_of_month="29", month_of_year="2", tz="UTC"),
            datetime(2016, 2, 29, tzinfo=UTC),
            2,
            [datetime(2020, 2, 29, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC)],
        ),
    ],
)
def test_most_recent_runs(schedule, first, limit, expected):
    assert most_recent_runs(schedule, first, NOW, limit) == expected


def test_run_after_under_all_goes_through_the_missed_slots_one_by_one():
    state = RunState(at(hours=-3), missed=MISSED_ALL, missed_limit=10)
    slot = at(hours=-2)
    assert run_after(EVERY_HOUR, slot, NOW, state, late=timedelta(hours=2)) == at(hours=-1)
