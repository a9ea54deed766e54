"""A clock the test moves by hand: pass it where code takes ``clock: Callable[[], float]``."""

from __future__ import annotations


class FakeClock:
    """Reads ``now`` (seconds); ``advance`` moves it forward. Never moves on its own."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
