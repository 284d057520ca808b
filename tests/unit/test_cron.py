"""Crontab field parsing: Celery's grammar, 7 as Sunday, clear refusals."""

import pytest

from django_periodic.timing.cron import CronFieldError, CronSpec, parse_field


@pytest.mark.parametrize(
    ("field", "spec", "expected"),
    [
        ("minute", "*/15", {0, 15, 30, 45}),
        ("minute", "0,30", {0, 30}),
        ("minute", " 1 - 3 ", {1, 2, 3}),
        ("hour", "9-17/4", {9, 13, 17}),
        ("hour", "22-2", {22, 23, 0, 1, 2}),
        ("day_of_week", "7", {0}),
        ("day_of_week", "5-7", {5, 6, 0}),
        ("day_of_week", "mon-fri", {1, 2, 3, 4, 5}),
        ("day_of_week", "SUN", {0}),
        ("day_of_week", "*", {0, 1, 2, 3, 4, 5, 6}),
        ("month_of_year", "jan,dec", {1, 12}),
        ("month_of_year", "*/6", {1, 7}),
        ("day_of_month", "", set(range(1, 32))),
    ],
)
def test_parse_field_accepts_celery_grammar(field, spec, expected):
    assert parse_field(field, spec) == expected


@pytest.mark.parametrize(
    ("field", "spec", "code"),
    [
        ("minute", "60", "out_of_range"),
        ("minute", "*/0", "zero_step"),
        ("minute", "*/x", "bad_step"),
        ("minute", "jan", "bad_name"),
        ("hour", "24", "out_of_range"),
        ("hour", "foo", "bad_name"),
        ("hour", "-1", "negative"),
        ("day_of_month", "0", "out_of_range"),
        ("day_of_month", "32", "out_of_range"),
        ("month_of_year", "13", "out_of_range"),
        ("month_of_year", "mon", "bad_name"),
        ("day_of_week", "8", "out_of_range"),
        ("day_of_week", "1,,2", "empty_item"),
    ],
)
def test_parse_field_refuses_with_a_code(field, spec, code):
    with pytest.raises(CronFieldError) as info:
        parse_field(field, spec)
    assert info.value.code == code
    assert info.value.field == field


def test_impossible_date_is_refused():
    with pytest.raises(CronFieldError) as info:
        CronSpec.parse(day_of_month="30", month_of_year="2")
    assert info.value.code == "impossible_date"


def test_hour_restriction_is_recorded():
    assert CronSpec.parse(hour="*").hour_restricted is False
    assert CronSpec.parse(hour="*/1").hour_restricted is True
