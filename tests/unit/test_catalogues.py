"""Every string the app marks for translation has an entry in every shipped catalogue.

The strings are extracted anew from the code (``makemessages``, GNU gettext's xgettext)
into a copy of the package, so a new ``_("...")`` without a translation fails here.
How to update the catalogues: ``tests/support/catalogues.py``.
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.catalogues import LANGUAGES, LOCALE, PACKAGE, read, untranslated

ROOT = PACKAGE.parent


def _need_gettext() -> None:
    if shutil.which("xgettext") and shutil.which("msgmerge"):
        return
    message = "GNU gettext is not installed (Debian: apt-get install gettext)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package whose catalogues ``makemessages`` brought up to date with the code."""
    _need_gettext()
    copy = tmp_path_factory.mktemp("catalogues") / "django_periodic"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "testproject.settings", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-a", "--no-obsolete"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return copy / "locale"


def test_every_language_is_shipped_compiled() -> None:
    shipped = sorted(p.name for p in LOCALE.iterdir() if (p / "LC_MESSAGES" / "django.po").exists())
    assert shipped == sorted(LANGUAGES)
    for language in LANGUAGES:
        folder = LOCALE / language / "LC_MESSAGES"
        with (folder / "django.mo").open("rb") as mo:
            compiled = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
        for entry in read(folder / "django.po"):
            if not entry.msgid:
                continue
            if entry.msgid_plural is None:
                assert compiled.get(entry.msgid) == entry.msgstr[0], f"{language}: compile the .po"
            else:
                forms = [compiled.get((entry.msgid, n)) for n in sorted(entry.msgstr)]
                assert forms == [entry.msgstr[n] for n in sorted(entry.msgstr)], (
                    f"{language}: compile the .po"
                )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_string_is_translated(extracted: Path, language: str) -> None:
    catalogue = extracted / language / "LC_MESSAGES" / "django.po"
    assert untranslated(catalogue) == []


def test_the_shipped_catalogues_are_up_to_date(extracted: Path) -> None:
    """The same messages as the code marks: none missing, none left over."""
    for language in LANGUAGES:
        fresh = {(e.msgctxt, e.msgid) for e in read(extracted / language / "LC_MESSAGES" / "django.po")}
        shipped = {(e.msgctxt, e.msgid) for e in read(LOCALE / language / "LC_MESSAGES" / "django.po")}
        assert fresh == shipped, language


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language: str) -> None:
    _need_gettext()
    catalogue = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "-o", os.devnull, str(catalogue)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
