"""Order-preserving parallel map over worker processes, for suite generation and validation."""

from __future__ import annotations

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
    with mp.get_context("forkserver").Pool(min(jobs, len(items))) as pool:
        yield from pool.imap(fn, items, chunksize=chunk)


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
