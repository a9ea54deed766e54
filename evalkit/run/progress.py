"""Progress reporting: a live bar with rate and ETA on a terminal, plain periodic lines otherwise.

A :class:`ProgressReporter` is the ``progress(done, total)`` callback of :func:`evalkit.run.run_suite`.
Rate and ETA count only trials finished in this session (resumed trials are not "fast").
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from evalkit.vocab import ProgressMode

BAR_WIDTH = 28


def _duration(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressReporter:
    """``mode``: ``auto`` (bar on a TTY, lines otherwise), ``bar``, ``lines`` or ``quiet``.

    ``clock`` gives the current time in seconds (monotonic); tests pass a fake one.
    """

    def __init__(self, stream: TextIO | None = None, mode: str = ProgressMode.AUTO, line_interval_s: float = 10.0,
                 bar_interval_s: float = 0.1, label: str = "trials",
                 clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.stream = stream if stream is not None else sys.stderr
        if mode == ProgressMode.AUTO:
            isatty = getattr(self.stream, "isatty", None)
            mode = ProgressMode.BAR if callable(isatty) and isatty() else ProgressMode.LINES
        if mode not in tuple(ProgressMode):
            raise ValueError(f"unknown progress mode {mode!r}")
        self.mode = ProgressMode(mode)
        self.interval = bar_interval_s if self.mode == ProgressMode.BAR else line_interval_s
        self.label = label
        self._t0: float | None = None
        self._done0 = 0
        self._last_draw: float | None = None
        self._drawn = False
        self._final_drawn = False

    def rate(self, done: int, now: float | None = None) -> float:
        if self._t0 is None:
            return 0.0
        elapsed = (self.clock() if now is None else now) - self._t0
        return (done - self._done0) / elapsed if elapsed > 0 else 0.0

    def text(self, done: int, total: int, now: float | None = None) -> str:
        rate = self.rate(done, now)
        eta = (total - done) / rate if rate > 0 else float("nan")
        pct = 100.0 * done / total if total else 100.0
        return f"{done}/{total} {self.label} ({pct:.0f}%) {rate:.1f}/s ETA {_duration(eta) if done < total else '0:00'}"

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self._t0 is None:
            self._t0, self._done0 = now, done
        finished = done >= total
        if self.mode == ProgressMode.QUIET or (finished and self._final_drawn):
            return
        if not finished and self._last_draw is not None and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        if self.mode == ProgressMode.BAR:
            filled = int(BAR_WIDTH * done / total) if total else BAR_WIDTH
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r[{bar}] {self.text(done, total, now)}\x1b[K")
        else:
            self.stream.write(f"progress: {self.text(done, total, now)}\n")
        self.stream.flush()
        self._drawn = True
        self._final_drawn = finished

    def close(self) -> None:
        if self.mode == ProgressMode.BAR and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
