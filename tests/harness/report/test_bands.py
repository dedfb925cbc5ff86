"""Coverage and its bootstrap band against known answers."""

from __future__ import annotations

import numpy as np
import pytest

from harness.report.bands import bootstrap_band, coverage_curve
from harness.report.passk import k_grid, mean_pass_at_ks
from tests.harness.report.test_fits import beta_problems


def test_coverage_curve_is_mean_pass_at_k() -> None:
    ns, cs = beta_problems(50, 64, 0.5, 2.0, seed=1)
    ks = k_grid(64)
    assert coverage_curve(ns, cs, ks) == pytest.approx(mean_pass_at_ks(ns, cs, ks))


def test_bootstrap_band_contains_the_estimate_and_shrinks_with_more_problems() -> None:
    ks = k_grid(128)
    widths = []
    for count in (50, 800):
        ns, cs = beta_problems(count, 128, 0.4, 3.0, seed=2)
        point = coverage_curve(ns, cs, ks)
        lo, hi = bootstrap_band(ns, cs, ks, n_boot=1000, seed=0)
        assert (lo <= point + 1e-12).all() and (point <= hi + 1e-12).all()
        assert (lo >= 0).all() and (hi <= 1).all()
        widths.append(hi - lo)
    # Width falls like 1/sqrt(problems): 16x the problems, about a quarter of the width.
    assert (widths[1] < 0.5 * widths[0]).all()


def test_bootstrap_band_is_seeded_and_degenerate_when_problems_agree() -> None:
    ns, cs = beta_problems(40, 32, 1.0, 1.0, seed=3)
    first = bootstrap_band(ns, cs, [1, 8], n_boot=200, seed=7)
    again = bootstrap_band(ns, cs, [1, 8], n_boot=200, seed=7)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    lo, hi = bootstrap_band([10] * 5, [3] * 5, [1, 2], n_boot=50)
    assert lo == pytest.approx(hi) and lo == pytest.approx(coverage_curve([10] * 5, [3] * 5, [1, 2]))


def test_bootstrap_band_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="level"):
        bootstrap_band([4], [1], [1], level=1.0)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_band([4], [1], [1], n_boot=0)
