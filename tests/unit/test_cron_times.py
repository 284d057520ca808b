"""Next-run arithmetic: the DST rules of the README, checked on examples and an oracle."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from django_periodic.timing.cron import CronSpec
from django_periodic.timing.cron_times import cron_runs, next_cron_run, next_interval_run, to_utc

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def runs(expr, tz, start, count=4):
    minute, hour, dom, month, dow = expr.split()
    spec = CronSpec.parse(minute, hour, dow, dom, month)
    return [r.astimezone(tz).strftime("%m-%d %H:%M%z") for r in cron_runs(spec, tz, start, count)]


def test_restricted_hour_in_gap_runs_once_after_the_gap():
    assert runs("30 2 * * *", BERLIN, datetime(2026, 3, 28, 12, tzinfo=BERLIN), 3) == [
        "03-29 03:00+0200",
        "03-30 02:30+0200",
        "03-31 02:30+0200",
    ]


def test_several_matches_in_a_gap_collapse_into_one_run():
    assert runs("0,15,30,45 2 * * *", BERLIN, datetime(2026, 3, 29, 1, tzinfo=BERLIN), 2) == [
        "03-29 03:00+0200",
        "03-30 02:00+0200",
    ]


def test_any_hour_in_gap_skips_the_missing_wall_minutes():
    assert runs("30 * * * *", BERLIN, datetime(2026, 3, 29, 1, tzinfo=BERLIN), 3) == [
        "03-29 01:30+0100",
        "03-29 03:30+0200",
        "03-29 04:30+0200",
    ]


def test_restricted_hour_in_fold_runs_once_at_first_occurrence():
    assert runs("30 2 * * *", BERLIN, datetime(2026, 10, 25, 0, tzinfo=BERLIN), 2) == [
        "10-25 02:30+0200",
        "10-26 02:30+0100",
    ]


def test_any_hour_in_fold_runs_every_real_hour():
    assert runs("30 * * * *", BERLIN, datetime(2026, 10, 25, 1, tzinfo=BERLIN), 4) == [
        "10-25 01:30+0200",
        "10-25 02:30+0200",
        "10-25 02:30+0100",
        "10-25 03:30+0100",
    ]


def test_last_run_in_second_occurrence_never_goes_back():
    second = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    spec = CronSpec.parse("30", "1")
    nxt = next_cron_run(spec, NEW_YORK, second)
    assert nxt > to_utc(second)
    assert nxt.astimezone(NEW_YORK).strftime("%m-%d %H:%M") == "11-02 01:30"


def test_day_fields_must_all_match():
    # Friday the 13th only
    got = runs("0 0 13 * 5", UTC, datetime(2026, 1, 1, tzinfo=UTC), 2)
    assert got == ["02-13 00:00+0000", "03-13 00:00+0000"]


def test_never_matching_again_returns_none():
    spec = CronSpec.parse("0", "0", "*", "31", "2,4,6,9,11,1")  # only 31 Jan matches
    assert next_cron_run(spec, UTC, datetime(2026, 1, 31, 1, tzinfo=UTC)).month == 1


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        to_utc(datetime(2026, 1, 1))


def test_interval_grid_is_strictly_after():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_interval_run(start, timedelta(seconds=10), start) == start + timedelta(seconds=10)
    assert next_interval_run(
        start, timedelta(seconds=10), start + timedelta(seconds=25)
    ) == start + timedelta(seconds=30)
