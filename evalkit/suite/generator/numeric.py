"""Small, fast series helpers used on every replay (90-point arrays, so call overhead dominates)."""

from __future__ import annotations

import warnings
from typing import Sequence, TypeVar

import numpy as np

T = TypeVar("T")

_BANK_ROWS = 64


class Rng(np.random.Generator):
    """A numpy Generator that can also hold a bank of pre-drawn smooth noise rows (see :func:`wiggle`)."""

    def __init__(self, entropy: list[int]):
        super().__init__(np.random.PCG64(np.random.SeedSequence(entropy)))
        self.bank: np.ndarray | None = None
        self.bank_next = 0


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    """``rng.choice(options)`` for a short list, with the same draw (numpy's choice of one element without
    weights is one ``integers(0, len(options))`` draw) at a fifth of its per-call cost."""
    return options[int(rng.integers(0, len(options)))]


def wiggle(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Smooth multiplicative noise around 1 (3-point moving average of normal draws).

    With an :class:`Rng`, rows come from a bank drawn 64 at a time (one rng call and one smoothing pass
    per 64 series), which keeps replay fast; the sequence depends on that generator alone.
    """
    if not isinstance(rng, Rng):
        z = rng.standard_normal(n + 2)
        return np.exp(sigma * (z[:-2] + z[1:-1] + z[2:]) / np.sqrt(3.0))
    return np.exp(sigma * bank_row(rng, n))


def bank_row(rng: Rng, n: int) -> np.ndarray:
    """The next smooth normal row of ``rng``'s bank, the row :func:`wiggle` exponentiates (the same draws), for
    callers that exponentiate many rows as one matrix."""
    if rng.bank is None or rng.bank_next >= _BANK_ROWS or rng.bank.shape[1] != n:
        z = rng.standard_normal((_BANK_ROWS, n + 2))
        rng.bank = (z[:, :-2] + z[:, 1:-1] + z[:, 2:]) * (1.0 / np.sqrt(3.0))
        rng.bank_next = 0
    row = rng.bank[rng.bank_next]
    rng.bank_next += 1
    return row


#: the whole-number bounds the generator clips to, as float64 0-d arrays: a ufunc takes one of those ~2.5k
#: instructions cheaper than a Python int (which it checks and converts on every call; ~60 clips a world)
_BOUNDS = {v: np.array(float(v)) for v in (0, 1, 2, 3, 60, 100)}


def clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """np.clip of a float series without its Python-level dispatch overhead (hot path on 90-point series).
    A bound equal to one of ``_BOUNDS`` goes in as its 0-d array: the same comparisons, so the same values."""
    return np.minimum(np.maximum(x, _BOUNDS.get(lo, lo)), _BOUNDS.get(hi, hi))


_MAX = np.maximum.reduce
_SUM = np.add.reduce


def top(x: np.ndarray) -> float:
    """``float(np.max(x))`` without np.max's Python-level dispatch: the same ufunc reduction, the same value."""
    return float(_MAX(x))


def mean(x: np.ndarray) -> float:
    """``float(np.mean(x))`` of a 1-d float64 array without np.mean's Python-level dispatch: the same pairwise
    sum divided by the count, so the same value to the last bit."""
    return float(_SUM(x) / x.size)


def mean_rows(m: np.ndarray) -> np.ndarray:
    """``np.mean(m, axis=0)`` of a 2-d float64 array without np.mean's Python-level dispatch: the same row-by-row
    sum divided by the count, so the same values to the last bit."""
    return _SUM(m, axis=0) / m.shape[0]


_FMAX = np.fmax.reduce


def nantop(x: np.ndarray) -> float:
    """``float(np.nanmax(x))`` of a float array: np.nanmax's own fast path (an fmax reduction), with its warning
    for an all-NaN input, minus the Python-level dispatch."""
    top_ = float(_FMAX(x))
    if top_ != top_:
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=2)
    return top_


def ramp_to(stop: float, n: int) -> np.ndarray:
    """``np.linspace(0, stop, n)`` for a scalar ``stop``, by linspace's own steps (the same values to the last
    bit) without its Python-level argument handling (~8 us a call, a few dozen calls a world)."""
    if n < 2:
        return np.linspace(0, stop, n)
    y = np.arange(n, dtype=np.float64)
    step = float(stop) / (n - 1)
    if step == 0:  # linspace's care for denormal steps
        y /= n - 1
        y *= float(stop)
    else:
        y *= step
    y += 0
    y[-1] = stop
    return y
