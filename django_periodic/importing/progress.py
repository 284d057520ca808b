"""How far a long import has come: a bar on a terminal, a line now and then in a log."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from django.utils.translation import gettext_lazy as _

WIDTH = 30


class Progress:
    """Call with (label, total) at the start of a phase; it returns the function that advances it.

    On a terminal the bar is redrawn in place at most ten times a second; otherwise a
    line is written every ``every`` seconds and when the phase ends.
    """

    def __init__(
        self, stream: TextIO | Any, tty: bool, every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream, self.tty, self.every, self.clock = stream, tty, every, clock

    def __call__(self, label: str, total: int) -> Callable[[int], None]:
        done = 0
        last = self.clock()

        def advance(count: int) -> None:
            nonlocal done, last
            done += count
            now = self.clock()
            finished = done >= total
            if not finished and now - last < (0.1 if self.tty else self.every):
                return
            last = now
            self._show(label, done, total, finished)

        return advance

    def _show(self, label: str, done: int, total: int, finished: bool) -> None:
        if self.tty:
            filled = WIDTH * done // total if total else WIDTH
            bar = "#" * filled + "-" * (WIDTH - filled)
            end = "\n" if finished else ""
            self.stream.write(f"\r{label} [{bar}] {done:,}/{total:,}{end}")
        else:
            self.stream.write(
                str(_("%(label)s: %(done)s of %(total)s tasks"))
                % {"label": label, "done": f"{done:,}", "total": f"{total:,}"}
                + "\n"
            )
        self.stream.flush()
