"""Coverage against k and how sure it is: pass@k averaged over problems, and a bootstrap band."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.report.passk import Counts, mean_pass_at_ks, per_problem_pass_at_k

# Largest block (replicates x problems, subsets x classes x ks) built at once: ~16 MB of float64.
BLOCK = 1 << 21


def coverage_curve(ns: Counts, cs: Counts, ks: Sequence[int]) -> np.ndarray:
    """Mean pass@k over problems at each k (passk's unbiased estimator)."""
    return np.asarray(mean_pass_at_ks(ns, cs, ks), dtype=np.float64)


def per_problem_curves(ns: Counts, cs: Counts, ks: Sequence[int]) -> np.ndarray:
    """pass@k of every problem at every k: shape (problems, len(ks))."""
    columns = [per_problem_pass_at_k(ns, cs, int(k)) for k in ks]
    return np.stack(columns, axis=1) if columns else np.empty((len(ns), 0))


def bootstrap_band(
    ns: Counts, cs: Counts, ks: Sequence[int], n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile band for coverage at each k, resampling problems with replacement.

    Problems are the unit that varies between benchmarks of the same kind; the samples within
    a problem are already averaged exactly by the estimator.
    """
    if n_boot < 1:
        raise ValueError(f"bootstrap_band needs n_boot >= 1, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"bootstrap_band needs 0 < level < 1, got {level}")
    matrix = per_problem_curves(ns, cs, ks)
    problems = matrix.shape[0]
    rng = np.random.default_rng(seed)
    # A resample is a multinomial count per problem, so all replicate means are matrix
    # products; chunks keep the (replicates x problems) count block small.
    chunk = max(1, BLOCK // max(problems, 1))
    means = np.concatenate([
        rng.multinomial(problems, np.full(problems, 1.0 / problems), size=min(chunk, n_boot - start)) @ matrix
        for start in range(0, n_boot, chunk)
    ]) / problems
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return lo, hi
