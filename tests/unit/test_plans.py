"""Next runs of a task: first runs, start and end, missed-run policies, jitter."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import schedule as interval

from django_periodic.timing.plans import (
    MISSED_ALL,
    MISSED_ONCE,
    MISSED_SKIP,
    RunState,
    first_run,
    is_missed,
    jitter,
    run_after,
    upcoming_runs,
)
from django_periodic.timing.schedules import TzAwareCrontab, clocked

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOURLY = TzAwareCrontab("0", "*", tz="UTC")
TEN_SECONDS = interval(timedelta(seconds=10))


def at(**delta):
    return NOW + timedelta(**delta)


def test_interval_first_run_is_one_interval_after_creation():
    assert first_run(TEN_SECONDS, RunState(None, anchor=at(seconds=-3)), NOW) == at(seconds=7)


def test_interval_first_run_is_start_time_when_set():
    assert first_run(TEN_SECONDS, RunState(None, start_time=at(hours=2)), NOW) == at(hours=2)


def test_crontab_first_run_is_first_slot_at_or_after_start_time():
    state = RunState(None, start_time=at(hours=3))
    assert first_run(HOURLY, state, NOW) == at(hours=3)
    state = RunState(None, start_time=at(hours=3, minutes=1))
    assert first_run(HOURLY, state, NOW) == at(hours=4)


def test_crontab_with_a_past_start_time_and_no_run_waits_for_its_next_slot():
    assert first_run(HOURLY, RunState(None, start_time=at(days=-3)), at(minutes=10)) == at(hours=1)


def test_no_run_after_expires():
    state = RunState(None, expires=at(minutes=30))
    assert first_run(HOURLY, state, NOW) is None
    assert upcoming_runs(HOURLY, RunState(None, expires=at(hours=2)), NOW, 5) == [at(hours=1), at(hours=2)]


def test_clocked_runs_once_even_when_past():
    when = clocked(at(minutes=-5))
    assert first_run(when, RunState(None), NOW) == at(minutes=-5)
    assert first_run(when, RunState(at(minutes=-5)), NOW) is None
    assert run_after(when, at(minutes=-5), NOW, RunState(None)) is None


@pytest.mark.parametrize(
    ("policy", "grace", "expected_first", "expected_count"),
    [
        (MISSED_ONCE, None, at(hours=-5), 1),  # one catch-up run, then back on the grid
        (MISSED_SKIP, None, at(hours=1), 0),  # nothing missed runs
        (MISSED_ALL, None, at(hours=-2), 3),  # the three most recent missed runs
        (MISSED_SKIP, 6 * 3600, at(hours=-5), 1),  # within grace: an ordinary (late) run
    ],
)
def test_missed_run_policies(policy, grace, expected_first, expected_count):
    # last run 6 hours ago: the runs at -5, -4, ..., 0 hours were missed
    state = RunState(at(hours=-6), missed=policy, missed_limit=3, grace=grace)
    first = first_run(HOURLY, state, NOW)
    assert first == expected_first
    runs, slot = [], first
    while slot is not None and slot <= NOW:
        runs.append(slot)
        slot = run_after(HOURLY, slot, NOW, state)
    assert len(runs) == expected_count
    assert slot == at(hours=1)


def test_celery_starting_deadline_skips_old_crontab_runs_only():
    state = RunState(at(hours=-6), starting_deadline=60)
    assert first_run(HOURLY, state, NOW) == at(hours=1)
    assert first_run(TEN_SECONDS, RunState(at(hours=-6), starting_deadline=60), NOW) == at(
        hours=-6, seconds=10
    )


def test_is_missed_only_under_skip_past_grace():
    state = RunState(None, missed=MISSED_SKIP, grace=30)
    assert not is_missed(HOURLY, state, at(seconds=-29), NOW)
    assert is_missed(HOURLY, state, at(seconds=-31), NOW)
    assert not is_missed(HOURLY, RunState(None), at(hours=-3), NOW)


def test_jitter_is_stable_per_run_and_bounded():
    delays = {jitter(pk, NOW, 60) for pk in range(500)}
    assert all(timedelta(0) <= d < timedelta(seconds=60) for d in delays)
    assert len(delays) > 450  # spread, not lumped
    assert jitter(7, NOW, 60) == jitter(7, NOW, 60)
    assert jitter(7, NOW, 60) != jitter(7, at(hours=1), 60)
    assert jitter(7, NOW, None) == timedelta(0)


def test_upcoming_runs_in_a_dst_zone():
    berlin = TzAwareCrontab("30", "2", tz="Europe/Berlin")
    runs = upcoming_runs(berlin, RunState(None), datetime(2027, 3, 27, 12, tzinfo=UTC), 2)
    assert [r.astimezone(ZoneInfo("Europe/Berlin")).strftime("%d %H:%M") for r in runs] == [
        "28 03:00",
        "29 02:30",
    ]
