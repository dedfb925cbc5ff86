"""The scaling fits against known answers: simulated data with known parameters and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import betabinom

from harness.report.bands import coverage_curve
from harness.report.fits import (
    FitError,
    beta_coverage,
    extrapolate,
    extrapolation_check,
    fit_beta_binomial,
    fit_power_law,
)
from harness.report.passk import k_grid


def beta_problems(count: int, n: int, alpha: float, beta: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.full(count, n), rng.binomial(n, rng.beta(alpha, beta, size=count))


# ---------------------------------------------------------------- power law


def test_power_law_recovers_parameters_from_a_noisy_curve() -> None:
    a, b = -2.3, -0.4
    ks = np.array(k_grid(10_000))
    rng = np.random.default_rng(0)
    noisy = np.exp(a * ks.astype(float) ** b) * (1 + rng.normal(0, 0.005, ks.size))
    fit = fit_power_law(ks, np.clip(noisy, 0, 1))
    assert fit.a == pytest.approx(a, rel=0.05) and fit.b == pytest.approx(b, rel=0.05)
    assert fit.r2 is not None and fit.r2 > 0.99
    assert np.abs(fit.residuals).max() < 0.03
    assert fit.predict([1])[0] == pytest.approx(np.exp(fit.a))


def test_power_law_is_exact_on_an_exact_curve() -> None:
    ks = np.arange(1, 200)
    fit = fit_power_law(ks, np.exp(-1.5 * ks**-0.7))
    assert (fit.a, fit.b) == pytest.approx((-1.5, -0.7), rel=1e-5)


def test_power_law_skips_zero_coverage_and_keeps_coverage_one() -> None:
    ks = [1, 2, 4, 8, 16, 32]
    coverage = [0.0, 0.0, *np.exp(-1.0 * np.array([4, 8, 16], dtype=float) ** -0.5), 1.0]
    fit = fit_power_law(ks, coverage)
    assert fit.skipped_zero == 2 and list(fit.ks) == [4, 8, 16, 32]
    assert fit.a < 0 and fit.b < 0


@pytest.mark.parametrize("coverage, message", [
    ([0.0, 0.0, 0.3], "two ks"),
    ([1.0, 1.0, 1.0], "undetermined"),
])
def test_power_law_says_when_it_cannot_fit(coverage: list[float], message: str) -> None:
    with pytest.raises(FitError, match=message):
        fit_power_law([1, 2, 4], coverage)


# ---------------------------------------------------------------- beta-binomial


def test_beta_binomial_mle_recovers_parameters() -> None:
    for alpha, beta in [(0.3, 2.5), (2.0, 5.0)]:
        ns, cs = beta_problems(3000, 40, alpha, beta, seed=11)
        fit = fit_beta_binomial(ns, cs)
        assert fit.alpha == pytest.approx(alpha, rel=0.12) and fit.beta == pytest.approx(beta, rel=0.12)
        assert not fit.at_bound
        assert fit.log_likelihood == pytest.approx(betabinom.logpmf(cs, ns, fit.alpha, fit.beta).sum())


def test_beta_binomial_mle_beats_nearby_parameters() -> None:
    ns, cs = beta_problems(300, 20, 0.7, 1.3, seed=12)
    fit = fit_beta_binomial(ns, cs)
    for da, db in [(1.05, 1), (0.95, 1), (1, 1.05), (1, 0.95)]:
        assert betabinom.logpmf(cs, ns, fit.alpha * da, fit.beta * db).sum() < fit.log_likelihood


def test_beta_coverage_matches_monte_carlo() -> None:
    alpha, beta = 0.35, 4.0
    p = np.random.default_rng(5).beta(alpha, beta, size=2_000_000)
    for k in (1, 7, 100, 5000):
        monte_carlo = float((1 - (1 - p) ** k).mean())
        assert beta_coverage(alpha, beta, [k])[0] == pytest.approx(monte_carlo, abs=2e-3)
    assert beta_coverage(alpha, beta, [1])[0] == pytest.approx(alpha / (alpha + beta))


def test_extrapolation_from_few_samples_predicts_the_large_k_curve() -> None:
    rng = np.random.default_rng(21)
    p = rng.beta(0.5, 3.0, size=400)
    outcomes = rng.random((400, 1024)) < p[:, None]
    predicted = extrapolate(np.full(400, 32), outcomes[:, :32].sum(axis=1), [1024])[0]
    observed = coverage_curve(np.full(400, 1024), outcomes.sum(axis=1), [1024])[0]
    assert predicted == pytest.approx(observed, abs=0.04)
    check = extrapolation_check(list(outcomes), m=32)
    report = check.to_dict()
    assert report["ks"] == k_grid(1024) and report["fit_on_first"] == 32
    assert report["beta_binomial_errors"]["max_abs_error"] < 0.05
    assert report["power_law_errors"] is not None


def test_extrapolation_check_needs_room_beyond_m() -> None:
    with pytest.raises(ValueError, match="smallest n"):
        extrapolation_check([[True, False], [False, False, True]], m=2)


def test_beta_fit_of_all_unsolved_problems_is_flagged() -> None:
    fit = fit_beta_binomial([50] * 20, [0] * 20)
    assert fit.at_bound and fit.predict([50])[0] < 0.05
