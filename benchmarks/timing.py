"""What the benchmark scripts share: timing one call by the wall clock and by this process's CPU time."""

from __future__ import annotations

import time
from typing import Any, Callable


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of one call ``fn(*args, **kwargs)``; the CPU figure is
    what to compare when the machine is shared and loaded."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return time.perf_counter() - w0, time.process_time() - c0, out
