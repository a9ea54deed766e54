"""Holm and Benjamini–Hochberg agree with statsmodels/scipy; cells outside the family are ignored."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from evalkit.compare import corrections

TOL = 1e-9


@pytest.fixture(autouse=True)
def _statsmodels_holm_without_a_full_gc(monkeypatch):
    """statsmodels' Holm runs ``gc.collect()`` on every call (0.1-0.8 s in a test worker's heap); the values are
    the same without it (it imports ``gc`` inside the function, so the module's own function is replaced)."""
    monkeypatch.setattr(gc, "collect", lambda *args: 0)


def _pvalues(rng, m):
    # a mix of tiny, moderate and null p-values, with ties
    p = np.concatenate([rng.uniform(0, 0.01, m // 3), rng.uniform(0, 1, m - m // 3)])
    p[rng.integers(0, m, 2)] = p[0]
    return rng.permutation(p)


@pytest.mark.parametrize("seed", range(30))
def test_holm_matches_statsmodels_multipletests(seed):
    rng = np.random.default_rng(seed)
    p = _pvalues(rng, int(rng.integers(1, 60)))
    ref = multipletests(p, alpha=0.05, method="holm")[1]
    np.testing.assert_allclose(corrections.holm(p), ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", range(30))
def test_bh_matches_statsmodels_and_scipy(seed):
    rng = np.random.default_rng(1000 + seed)
    p = _pvalues(rng, int(rng.integers(1, 60)))
    ours = corrections.bh(p)
    np.testing.assert_allclose(ours, multipletests(p, alpha=0.05, method="fdr_bh")[1], rtol=0, atol=TOL)
    np.testing.assert_allclose(ours, stats.false_discovery_control(p, method="bh"), rtol=0, atol=TOL)


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_cells_outside_the_family_are_ignored(method):
    rng = np.random.default_rng(5)
    p = _pvalues(rng, 20)
    outside = np.zeros(20, bool)
    outside[[1, 7, 8, 19]] = True
    with_nan = np.where(outside, np.nan, p)
    adj = corrections.adjust(with_nan, method)
    assert np.all(np.isnan(adj[outside]))
    sm_method = "holm" if method == "holm" else "fdr_bh"
    np.testing.assert_allclose(adj[~outside], multipletests(p[~outside], method=sm_method)[1], atol=TOL)


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_each_row_is_its_own_family(method):
    rng = np.random.default_rng(6)
    P = rng.uniform(0, 0.05, size=(50, 12))
    adj = corrections.adjust(P, method)
    sm_method = "holm" if method == "holm" else "fdr_bh"
    for row, arow in zip(P, adj):
        np.testing.assert_allclose(arow, multipletests(row, method=sm_method)[1], atol=TOL)


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_cell_level_reproduces_the_corrected_decision(method):
    rng = np.random.default_rng(7)
    P = np.concatenate([rng.uniform(0, 0.004, size=(200, 5)), rng.uniform(0, 1, size=(200, 15))], axis=1)
    adj = corrections.adjust(P, method)
    level = corrections.cell_levels(P, adj, 0.05)
    assert np.array_equal(P <= level * (1 + 1e-12), adj <= 0.05)


def test_holm_level_is_alpha_over_family_size_at_the_first_step():
    p = np.array([0.001, 0.2, 0.5, 0.9])
    level = corrections.cell_levels(p, corrections.holm(p), 0.05)
    assert level[0] == pytest.approx(0.05 / 4)


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError):
        corrections.adjust([0.1], "bonferroni-ish")
