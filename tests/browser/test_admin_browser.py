"""The admin in headless Chromium against a live server: what an operator clicks.

Screenshots of the key pages land in ``$DJANGO_PERIODIC_ARTIFACTS/screenshots``
(default ``artifacts/screenshots``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from django_periodic.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask
from tests.support import browser as helpers
from tests.support.browser import NOW, artifacts_dir, launch_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

pinned_clock = helpers.pinned_clock
published = helpers.published


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Playwright's sync API keeps an event loop in this thread while it runs; Django
    # would take the tests' own ORM calls for calls from async code and refuse them.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright, chromium = launch_chromium()
        yield chromium
        chromium.close()
        playwright.stop()


@pytest.fixture
def page(browser, live_server, admin_user, pinned_clock) -> Iterator[Any]:
    """A logged-in admin page; the admin's clock is pinned to :data:`NOW`."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    # Django's navigation sidebar is sticky: it smears across full-page screenshots.
    context.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.base = live_server.url
    tab.goto(f"{live_server.url}/admin/login/?next=/admin/")
    tab.fill("#id_username", "admin")
    tab.fill("#id_password", "password")
    tab.click("input[type=submit]")
    expect(tab.locator("#user-tools")).to_contain_text("admin")
    yield tab
    context.close()


def shot(page, name):
    page.screenshot(path=str(artifacts_dir() / f"{name}.png"), full_page=True)


def open_add_task(page, name, task):
    page.goto(f"{page.base}/admin/django_periodic/periodictask/add/")
    page.fill("#id_name", name)
    page.fill("#id_task", task)


def choose_type(page, kind):
    page.check(f"#id_schedule_type input[value={kind}]")


def pick(page, kind, text):
    """Choose an existing schedule in the autocomplete box of ``kind``."""
    page.click(f".field-{kind} .select2-selection")
    page.fill(".select2-container--open .select2-search__field", text)
    page.click(f".select2-results__option:has-text('{text}')")


def add_in_popup(page, kind, fill):
    """Add a schedule with the + button; the popup's fields are filled by ``fill(popup)``."""
    with page.expect_popup() as opened:
        page.click(f"#add_id_{kind}")
    popup = opened.value
    popup.wait_for_load_state()
    fill(popup)
    with popup.expect_event("close"):
        popup.click("input[name=_save]")


def message_texts(page):
    return page.locator("ul.messagelist li").all_inner_texts()


def test_create_interval_crontab_and_clocked_tasks(page):
    from playwright.sync_api import expect

    IntervalSchedule.objects.create(every=10, period="seconds")

    # An interval task: the task name comes from the suggestions, the schedule from autocomplete.
    open_add_task(page, "Import feed", "testproject.tasks.add")
    expect(page.locator("#id_task_choices option[value='testproject.tasks.add']")).to_have_count(1)
    expect(page.locator(".form-row.field-interval")).to_be_hidden()
    choose_type(page, "interval")
    expect(page.locator(".form-row.field-interval")).to_be_visible()
    expect(page.locator(".form-row.field-crontab")).to_be_hidden()
    pick(page, "interval", "every 10 seconds")
    page.fill("#id_args", "[2, 3]")
    shot(page, "task-add-interval")
    page.click("input[name=_continue]")
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    expect(page.locator(".field-schedule_words .readonly")).to_have_text("Every 10 seconds")
    expect(page.locator("table.periodic-next-runs tbody tr")).to_have_count(5)

    # A crontab in New York time, added from the task form.
    def new_york(popup):
        popup.fill("#id_minute", "30")
        popup.fill("#id_hour", "9")
        popup.fill("#id_day_of_week", "mon-fri")
        popup.select_option("#id_timezone", "America/New_York")

    open_add_task(page, "Morning report", "testproject.tasks.say")
    choose_type(page, "crontab")
    add_in_popup(page, "crontab", new_york)
    expect(page.locator(".field-crontab .select2-selection__rendered")).to_contain_text("America/New_York")
    page.fill("#id_kwargs", '{"message": "good morning"}')
    page.click("input[name=_continue]")
    expect(page.locator(".field-schedule_zone .readonly")).to_have_text("America/New_York")
    expect(page.locator(".field-schedule_words .readonly")).to_contain_text("09:30")
    runs = page.locator("table.periodic-next-runs tbody tr")
    expect(runs).to_have_count(5)
    # NOW is Thursday 2026-03-05 12:00 UTC; New York moves to summer time on Sunday the 8th.
    expect(runs.nth(0)).to_contain_text("Thu 2026-03-05 09:30:00 EST")
    expect(runs.nth(0)).to_contain_text("Thu 2026-03-05 14:30:00 UTC")
    expect(runs.nth(2)).to_contain_text("Mon 2026-03-09 09:30:00 EDT")
    expect(runs.nth(2)).to_contain_text("Mon 2026-03-09 13:30:00 UTC")
    shot(page, "task-crontab-new-york-preview")

    # A clocked one-off.
    def tomorrow_noon(popup):
        popup.fill("#id_clocked_time_0", "2026-03-06")
        popup.fill("#id_clocked_time_1", "12:00:00")

    open_add_task(page, "Launch", "testproject.tasks.say")
    choose_type(page, "clocked")
    add_in_popup(page, "clocked", tomorrow_noon)
    page.check("#id_one_off")
    page.click("input[name=_continue]")
    runs = page.locator("table.periodic-next-runs tbody tr")
    expect(runs).to_have_count(1)
    expect(runs.nth(0)).to_contain_text("Fri 2026-03-06 12:00:00 UTC")
    shot(page, "task-clocked-one-off-preview")

    page.goto(f"{page.base}/admin/django_periodic/periodictask/")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    shot(page, "task-list")
    task = PeriodicTask.objects.get(name="Morning report")
    assert (task.crontab.timezone.key, task.kwargs) == ("America/New_York", {"message": "good morning"})
    assert PeriodicTask.objects.get(name="Import feed").args == [2, 3]
    assert PeriodicTask.objects.get(name="Launch").one_off


def test_errors_are_shown_where_they_are(page):
    from playwright.sync_api import expect

    IntervalSchedule.objects.create(every=10, period="seconds")
    CrontabSchedule.objects.create(minute="0", hour="4", timezone="UTC")

    page.goto(f"{page.base}/admin/django_periodic/crontabschedule/add/")
    page.fill("#id_minute", "61")
    page.fill("#id_hour", "*/0")
    page.click("input[name=_save]")
    expect(page.locator(".field-minute .errorlist")).to_contain_text("'61' is not a valid minute")
    expect(page.locator(".field-hour .errorlist")).to_contain_text("a step of zero never matches")
    shot(page, "errors-crontab-fields")

    open_add_task(page, "Two schedules", "testproject.tasks.add")
    choose_type(page, "interval")
    pick(page, "interval", "every 10 seconds")
    choose_type(page, "crontab")  # the interval stays visible: it holds a value
    expect(page.locator(".form-row.field-interval")).to_be_visible()
    pick(page, "crontab", "0 4")
    page.fill("#id_args", '[1, "two"')
    page.fill("#id_kwargs", "[1]")
    page.click("input[name=_save]")
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-args .errorlist")).to_have_text(
        "Enter valid JSON: Expecting ',' delimiter at line 1, column 10."
    )
    expect(page.locator(".field-kwargs .errorlist")).to_contain_text("this is a list")
    for kind in ("interval", "crontab"):
        expect(page.locator(f".field-{kind} .errorlist")).to_contain_text(
            "Only one schedule can be set; interval, crontab are all set."
        )
    expect(page.locator("#id_args")).to_have_value('[1, "two"')
    shot(page, "errors-task-form")
    assert not PeriodicTask.objects.exists()


def select_rows(page, *names):
    for name in names:
        page.locator("#result_list tr", has=page.locator(f"th a:text-is('{name}')")).locator(
            "input.action-select"
        ).check()


def run_action(page, action, *names):
    page.goto(f"{page.base}/admin/django_periodic/periodictask/")
    select_rows(page, *names)
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_actions_enable_disable_toggle_and_run_now(page, published):
    from playwright.sync_api import expect

    every = IntervalSchedule.objects.create(every=10, period="seconds")
    for name, enabled in (("Alpha", True), ("Beta", True), ("Gamma", False)):
        PeriodicTask.objects.create(
            name=name, task="testproject.tasks.add", interval=every, args=[2, 3], enabled=enabled
        )
    PeriodicTask.objects.filter(name="Alpha").update(queue="reports", priority=3)

    run_action(page, "disable_tasks", "Alpha", "Beta")
    expect(page.locator("ul.messagelist")).to_have_text("Disabled 2 periodic tasks.")
    run_action(page, "toggle_tasks", "Alpha", "Gamma")
    expect(page.locator("ul.messagelist")).to_have_text(
        "Toggled 2 periodic tasks: 2 now enabled, 0 now disabled."
    )
    run_action(page, "enable_tasks", "Beta")
    expect(page.locator("ul.messagelist")).to_have_text("Enabled 1 periodic task.")
    assert set(PeriodicTask.objects.filter(enabled=True).values_list("name", flat=True)) == {
        "Alpha",
        "Beta",
        "Gamma",
    }

    run_action(page, "run_tasks_now", "Alpha")
    expect(page.locator("ul.messagelist")).to_contain_text(
        re.compile(r"Sent 1 periodic task to run now: “Alpha” as testproject\.tasks\.add to queue reports")
    )
    shot(page, "actions-run-now")
    [message] = published
    assert message["task"] == "testproject.tasks.add"
    assert message["headers"]["periodic_task_name"] == "Alpha"
    assert message["properties"]["priority"] == 3


def test_search_and_filter(page):
    from playwright.sync_api import expect

    every = IntervalSchedule.objects.create(every=10, period="seconds")
    cron = CrontabSchedule.objects.create(minute="30", hour="9", timezone="America/New_York")
    at = ClockedSchedule.objects.create(clocked_time=NOW.replace(day=6))
    PeriodicTask.objects.create(name="Import feed", task="testproject.tasks.add", interval=every)
    PeriodicTask.objects.create(
        name="Morning report", task="testproject.tasks.say", crontab=cron, description="for the board"
    )
    PeriodicTask.objects.create(name="Launch", task="testproject.tasks.say", clocked=at, one_off=True)
    rows = page.locator("#result_list tbody th a")

    page.goto(f"{page.base}/admin/django_periodic/periodictask/")
    expect(rows).to_have_count(3)
    page.fill("#searchbar", "board")
    page.press("#searchbar", "Enter")
    expect(rows).to_have_text(["Morning report"])

    page.goto(f"{page.base}/admin/django_periodic/periodictask/")
    page.locator("#changelist-filter a", has_text="Clocked").click()
    expect(rows).to_have_text(["Launch"])
    page.locator("#changelist-filter a", has_text="All").first.click()
    page.locator("#changelist-filter details", has_text="By Celery task").locator(
        "a", has_text="testproject.tasks.say"
    ).click()
    expect(rows).to_have_text(["Launch", "Morning report"])
    shot(page, "task-list-filtered")


def test_schedule_shows_its_tasks_and_delete_names_them(page):
    from playwright.sync_api import expect

    every = IntervalSchedule.objects.create(every=10, period="seconds")
    for name in ("Import feed", "Refresh cache"):
        PeriodicTask.objects.create(name=name, task="testproject.tasks.add", interval=every)

    page.goto(f"{page.base}/admin/django_periodic/intervalschedule/{every.pk}/change/")
    expect(page.locator(".field-used_by .readonly")).to_contain_text(
        "2 tasks use this schedule; deleting the schedule deletes them too."
    )
    shot(page, "schedule-used-by")
    page.click("a.deletelink")
    expect(page.locator("#deleted-objects")).to_contain_text("Import feed")
    expect(page.locator("#deleted-objects")).to_contain_text("Refresh cache")
    shot(page, "schedule-delete-confirmation")
    page.click("input[type=submit]")
    expect(page.locator("ul.messagelist")).to_contain_text("was deleted successfully")
    assert not PeriodicTask.objects.exists()


def test_runs_list_task_columns_and_recent_runs(page):
    from datetime import timedelta

    from playwright.sync_api import expect

    from django_periodic.beat.publish import run_task_id
    from django_periodic.models import PeriodicTaskRun

    every = IntervalSchedule.objects.create(every=1, period="minutes")
    report = PeriodicTask.objects.create(name="Nightly report", task="proj.tasks.report", interval=every)
    PeriodicTask.objects.create(name="Sync invoices", task="proj.tasks.sync", interval=every)
    outcomes = ["succeeded"] * 14 + ["failed", "succeeded", "skipped", "succeeded", "failed", "succeeded"]
    runs = []
    for i, state in enumerate(outcomes):
        when = NOW - timedelta(minutes=len(outcomes) - i)
        took = 0 if state == "skipped" else 2 + (i * 7) % 11
        runs.append(
            PeriodicTaskRun(
                task=report,
                task_name=report.name,
                scheduled_at=when,
                celery_task_id=run_task_id(report.pk, when),
                state=state,
                reason={
                    "failed": "TimeoutError: upstream took too long",
                    "skipped": "overlap: the previous run has not finished",
                }.get(state, ""),
                recorded_at=when,
                sent_at=when,
                started_at=None if state == "skipped" else when + timedelta(seconds=1),
                finished_at=when + timedelta(seconds=1 + took),
                worker="" if state == "skipped" else "celery@worker-1",
            )
        )
    PeriodicTaskRun.objects.bulk_create(runs)

    page.goto(f"{page.base}/admin/django_periodic/periodictaskrun/")
    expect(page.locator("#result_list tbody tr")).to_have_count(len(outcomes))
    shot(page, "runs-list")
    page.click("#changelist-filter a:has-text('Failed')")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.fill("#searchbar", runs[-2].celery_task_id)  # a failed one, within the filter
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)

    page.goto(f"{page.base}/admin/django_periodic/periodictask/")
    row = page.locator("#result_list tr", has_text="Nightly report")
    expect(row.locator(".field-last_status")).to_have_text("Succeeded")
    shot(page, "tasks-last-status")

    page.goto(f"{page.base}/admin/django_periodic/periodictask/{report.pk}/change/")
    expect(page.locator("svg.periodic-run-picture rect")).to_have_count(20)
    expect(page.locator("table.periodic-recent-runs tbody tr")).to_have_count(20)
    page.locator(".field-recent_runs").scroll_into_view_if_needed()
    page.locator(".field-recent_runs").screenshot(path=str(artifacts_dir() / "task-recent-runs.png"))


@pytest.mark.parametrize("width", [1280, 1920])
def test_the_task_list_shows_the_scanned_columns_at_common_widths(browser, live_server, admin_user, width):
    every = IntervalSchedule.objects.create(every=10, period="minutes")
    for name in ("Nightly report", "Sync invoices from the accounting system", "Warm caches"):
        PeriodicTask.objects.create(name=name, task="proj.tasks.long_module_name.some_task", interval=every)
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-US")
    context.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    tab = context.new_page()
    try:
        tab.goto(f"{live_server.url}/admin/login/?next=/admin/django_periodic/periodictask/")
        tab.fill("#id_username", "admin")
        tab.fill("#id_password", "password")
        tab.click("input[type=submit]")
        tab.wait_for_selector("#result_list")
        # the list scrolls inside its own box: a column must end within that box
        shown = tab.locator("#changelist .results").bounding_box()
        assert shown is not None
        from django_periodic.admin import PeriodicTaskAdmin

        for column in PeriodicTaskAdmin.list_display:  # every column the list shows
            box = tab.locator(f"#result_list thead th.column-{column}").bounding_box()
            assert box is not None and box["x"] + box["width"] <= shown["x"] + shown["width"] + 1, (
                f"{column} is cut off at {width}px"
            )
        tab.screenshot(path=str(artifacts_dir() / f"tasks-{width}.png"))
    finally:
        context.close()
