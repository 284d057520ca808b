"""The app's translation catalogues: read a ``.po`` file, find entries left to translate.

How to update the catalogues after adding or changing a marked string (``_("...")``,
``gettext``, ``ngettext``): from the ``django_periodic`` folder, with GNU gettext installed
(Debian: ``apt-get install gettext``),

    cd django_periodic
    DJANGO_SETTINGS_MODULE=testproject.settings PYTHONPATH=.. django-admin makemessages -a --no-obsolete
    # translate every new or fuzzy entry in locale/*/LC_MESSAGES/django.po (drop the "fuzzy" flag)
    DJANGO_SETTINGS_MODULE=testproject.settings PYTHONPATH=.. django-admin compilemessages

and commit both the ``.po`` and the ``.mo`` files. ``tests/unit/test_catalogues.py`` fails
while a marked string has no translation in a shipped catalogue.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "django_periodic"
LOCALE = PACKAGE / "locale"
#: The languages shipped, as Django names their folders.
LANGUAGES = ("de", "es", "fr", "ja", "pt_BR", "zh_Hans")


@dataclass
class Entry:
    """One message of a catalogue."""

    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)

    @property
    def translated(self) -> bool:
        """Every form has text and the entry is not marked fuzzy."""
        return "fuzzy" not in self.flags and bool(self.msgstr) and all(self.msgstr.values())


def read(path: Path) -> list[Entry]:
    """The entries of a ``.po`` file (the header included, obsolete ``#~`` ones left out)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    key: tuple[str, int] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            entry, key = None, None
            continue
        if line.startswith("#~"):
            continue
        if entry is None:
            entry = Entry()
            entries.append(entry)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            entry.comments.append(line)
        elif line.startswith('"'):
            assert key is not None, f"{path}: a continuation line with no keyword: {line}"
            _append(entry, key, ast.literal_eval(line))
        else:
            keyword, _, text = line.partition(" ")
            index = 0
            if keyword.startswith("msgstr["):
                index, keyword = int(keyword[7:-1]), "msgstr"
            key = (keyword, index)
            if keyword == "msgid_plural":
                entry.msgid_plural = ""
            elif keyword == "msgctxt":
                entry.msgctxt = ""
            _append(entry, key, ast.literal_eval(text))
    return entries


def _append(entry: Entry, key: tuple[str, int], text: str) -> None:
    keyword, index = key
    if keyword == "msgstr":
        entry.msgstr[index] = entry.msgstr.get(index, "") + text
    else:
        setattr(entry, keyword, (getattr(entry, keyword) or "") + text)


def untranslated(path: Path) -> list[str]:
    """The messages of a catalogue that have no translation yet, or only a fuzzy one."""
    return [entry.msgid for entry in read(path) if entry.msgid and not entry.translated]
