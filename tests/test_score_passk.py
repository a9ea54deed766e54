"""pass@k and pass^k against hand-worked values and a brute-force enumeration of all k-subsets."""

import itertools
from math import comb

import numpy as np
import pytest

from evalkit.score.passk import pass_at_k, pass_hat_k


def _brute(n, c, k):
    trials = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    any_ok = sum(any(trials[i] for i in s) for s in subsets) / len(subsets)
    all_ok = sum(all(trials[i] for i in s) for s in subsets) / len(subsets)
    return any_ok, all_ok


def test_hand_worked_five_trials_two_successes():
    # pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10; pass^2 = C(2,2)/C(5,2) = 1/10
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_hat_k(5, 2, 2) == pytest.approx(0.1)
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4) and pass_hat_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 4) == pytest.approx(1.0)  # any 4 of 5 include a success


def test_matches_brute_force_enumeration_over_all_k_subsets():
    cases = [(n, c, k) for n in range(1, 9) for c in range(n + 1) for k in range(1, n + 1)]
    n, c, k = (np.array(v) for v in zip(*cases))
    at, hat = pass_at_k(n, c, k), pass_hat_k(n, c, k)
    for i, (ni, ci, ki) in enumerate(cases):
        b_at, b_hat = _brute(ni, ci, ki)
        assert at[i] == pytest.approx(b_at, abs=1e-12), (ni, ci, ki)
        assert hat[i] == pytest.approx(b_hat, abs=1e-12), (ni, ci, ki)


def test_fewer_trials_than_k_is_nan():
    assert np.isnan(pass_at_k(2, 1, 3)) and np.isnan(pass_hat_k(2, 2, 3))


def test_large_n_matches_the_product_formula_without_overflow():
    n, c, k = 1000, 37, 200
    product = 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))
    assert pass_at_k(n, c, k) == pytest.approx(product, rel=1e-9)
    assert pass_hat_k(n, 300, 3) == pytest.approx(comb(300, 3) / comb(n, 3), rel=1e-9)
