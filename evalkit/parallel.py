"""Order-preserving parallel map over worker processes, for suite generation and validation; and the garbage
collector settings every evalkit worker process runs with."""

from __future__ import annotations

import gc
from typing import Callable, Iterable, Iterator, TypeVar

from evalkit.errors import UserError, whole_number

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], items: list[T], jobs: int = 1) -> Iterator[R]:
    """``map(fn, items)`` in input order; with ``jobs`` > 1 in that many worker processes, results streamed
    back in small chunks as they finish (``fn`` must be a picklable top-level function)."""
    if jobs <= 1 or len(items) < 2:
        yield from map(fn, items)
        return
    import multiprocessing as mp

    chunk = max(1, min(32, len(items) // (jobs * 8)))
    with mp.get_context("forkserver").Pool(min(jobs, len(items)), initializer=tune_gc) as pool:
        yield from pool.imap(fn, items, chunksize=chunk)


def tune_gc() -> None:
    """Set a worker process's cyclic garbage collector for a long run of allocation-heavy work items.

    What the worker imported moves to the permanent generation (``gc.freeze``), so full collections no longer
    walk it, and the youngest generation is collected every 20,000 net container allocations instead of 700:
    a trial, a replay or a generated scenario allocates tens of thousands of dicts and lists, almost none in
    cycles, and the default thresholds spent 4-7% of a worker's time collecting them. Unreachable cycles are
    still freed, a little later. For worker processes only: it changes the whole process's collector.
    """
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def check_jobs(option: str, jobs: object) -> int:
    """``jobs`` as a positive int, or a UserError naming ``option``."""
    if not whole_number(jobs, 1):
        raise UserError.at(option, "", jobs, "give an integer >= 1")
    return jobs


def consume(results: Iterable[R], progress: Callable[[int, int], None] | None, total: int) -> Iterator[R]:
    """Pass ``results`` through, calling ``progress(done, total)`` after each."""
    for done, r in enumerate(results, 1):
        yield r
        if progress:
            progress(done, total)
