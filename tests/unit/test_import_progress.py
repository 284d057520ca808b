"""The import's progress: a bar redrawn in place on a terminal, a line now and then in a log."""

from io import StringIO

from django_periodic.importing.progress import Progress


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_every_few_seconds_and_one_at_the_end():
    out, clock = StringIO(), Ticks()
    advance = Progress(out, tty=False, every=5.0, clock=clock)("Writing", 10_000)
    for _step in range(10):
        clock.now += 2.0
        advance(1_000)
    assert out.getvalue().splitlines() == [
        "Writing: 3,000 of 10,000 tasks",
        "Writing: 6,000 of 10,000 tasks",
        "Writing: 9,000 of 10,000 tasks",
        "Writing: 10,000 of 10,000 tasks",
    ]


def test_a_terminal_gets_a_bar_redrawn_in_place():
    out, clock = StringIO(), Ticks()
    advance = Progress(out, tty=True, clock=clock)("Reading", 4)
    clock.now += 1.0
    advance(2)
    clock.now += 0.01  # too soon to redraw
    advance(1)
    clock.now += 1.0
    advance(1)
    assert out.getvalue() == (
        "\rReading [###############---------------] 2/4" + "\rReading [" + "#" * 30 + "] 4/4\n"
    )
