"""The task list in German and in Japanese, as a browser set to that language shows it.

Screenshots: ``task-list-de.png`` and ``task-list-ja.png`` in the screenshots folder. Japanese
needs a CJK font on the machine (Debian: ``fonts-noto-cjk``), or the page shows empty boxes.
"""

# ruff: noqa: RUF001 - the expected words are German and Japanese text

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from django_periodic.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from tests.browser.test_admin_browser import browser  # noqa: F401 - the shared Chromium
from tests.support import browser as helpers
from tests.support.browser import artifacts_dir

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

pinned_clock = helpers.pinned_clock

#: Browser locale, then words the list must show in that language.
LANGUAGES = {
    "de": ("de-DE", ["Periodische Aufgaben", "Nächste Ausführung",
                     "Pausiert von alice: Wartung der Datenbank", "Alle 10 Sekunden", "Aktion:"]),
    "ja": ("ja-JP", ["定期タスク", "次回の実行", "alice が一時停止：Wartung der Datenbank", "10 秒ごと",
                     "操作:"]),
}  # fmt: skip


@pytest.fixture
def tasks() -> None:
    every_10s = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    mornings = CrontabSchedule.objects.create(
        minute="30", hour="7", day_of_week="1-5", timezone="Europe/Berlin"
    )
    PeriodicTask.objects.create(name="Import feed", task="proj.tasks.import_feed", interval=every_10s)
    PeriodicTask.objects.create(name="Morning report", task="proj.tasks.report", crontab=mornings)
    PeriodicTask.objects.create(name="Nightly cleanup", task="proj.tasks.cleanup", interval=every_10s).pause(
        "alice", "Wartung der Datenbank"
    )


@pytest.fixture
def localised(browser, live_server, admin_user, pinned_clock) -> Iterator[Any]:  # noqa: F811
    """Open a logged-in admin tab in a browser set to a language: ``localised(code)``."""
    contexts = []

    def open_tab(language: str) -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 700}, locale=LANGUAGES[language][0])
        context.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = context.new_page()
        tab.goto(f"{live_server.url}/admin/login/?next=/admin/")
        tab.fill("#id_username", "admin")
        tab.fill("#id_password", "password")
        tab.click("input[type=submit]")
        tab.wait_for_selector("#user-tools")
        tab.goto(f"{live_server.url}/admin/django_periodic/periodictask/")
        return tab

    yield open_tab
    for context in contexts:
        context.close()


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_task_list_in_the_browsers_language(localised, tasks, language):
    from playwright.sync_api import expect

    tab = localised(language)
    expect(tab.locator("html")).to_have_attribute("lang", language)
    content = tab.locator("body")
    for words in LANGUAGES[language][1]:
        expect(content).to_contain_text(words)
    expect(content).not_to_contain_text("Next run")
    tab.screenshot(path=str(artifacts_dir() / f"task-list-{language}.png"), full_page=True)


def test_a_japanese_font_is_installed():
    """Without one, Chromium draws the Japanese screenshot as empty boxes."""
    listed = subprocess.run(["fc-list", ":lang=ja", "family"], capture_output=True, text=True, check=False)
    assert listed.stdout.strip(), "no font covers Japanese: apt-get install fonts-noto-cjk"
