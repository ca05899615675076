"""A progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise (logs stay short)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
REDRAW_SECONDS = 0.25


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Counts work units (rows) toward a known total and reports the rate and the time left."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(1, total)
        self.done = 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._drawn = 0.0
        self._tenth = -1
        self._tty = self.stream.isatty()

    def advance(self, units: int, note: str = "") -> None:
        self.done += units
        now = time.monotonic()
        tenth = min(10, self.done * 10 // self.total)
        if self._tty and now - self._drawn >= REDRAW_SECONDS:
            self._draw(now, note, end="\r")
        elif not self._tty and tenth != self._tenth:
            self._tenth = tenth
            self._draw(now, note, end="\n")

    def finish(self, note: str = "") -> float:
        """Draws the final state and returns the elapsed seconds."""
        now = time.monotonic()
        self.done = max(self.done, self.total)
        self._draw(now, note, end="\n")
        return now - self.started

    def _draw(self, now: float, note: str, end: str) -> None:
        self._drawn = now
        fraction = min(1.0, self.done / self.total)
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * int(fraction * WIDTH)
        line = (
            f"{self.label} [{bar:<{WIDTH}}] {fraction * 100:5.1f}%  {rate:,.0f}/s  "
            f"{_duration(elapsed)} elapsed, {_duration(left)} left  {note}"
        )
        self.stream.write(line.ljust(110) + end)
        self.stream.flush()


def step(message: str) -> None:
    """One line about a phase of the work."""
    print(f"bench: {message}", file=sys.stderr, flush=True)
