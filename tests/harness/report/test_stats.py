"""The report's statistics section: JSON, agreeing with its parts, and degenerate runs."""

from __future__ import annotations

import numpy as np
import pytest

from harness.report.bands import coverage_curve
from harness.report.fits import fit_beta_binomial
from harness.report.passk import k_grid


def outcome_problems(rows: list[list[bool]]) -> list:
    from harness.outcomes import AttemptOutcome, ProblemOutcome
    from harness.records import VerdictStatus

    return [ProblemOutcome(problem_id=f"p{i}", attempts=[
        AttemptOutcome(index=j, status=VerdictStatus.PASSED if ok else VerdictStatus.FAILED,
                       class_key="gold" if ok else f"w{j % 3}") for j, ok in enumerate(row)])
        for i, row in enumerate(rows)]


def test_report_statistics_is_json_and_agrees_with_the_parts() -> None:
    import json

    from harness.report.markdown import render_statistics
    from harness.report.stats import report_statistics

    rng = np.random.default_rng(8)
    rows = (rng.random((30, 64)) < rng.beta(0.5, 2.0, size=30)[:, None]).tolist()
    section = report_statistics(outcome_problems(rows) + outcome_problems([[]]), n_boot=200)
    json.dumps(section, allow_nan=False)
    ns, cs = [64] * 30, [sum(r) for r in rows]
    assert section["coverage_band"]["ks"] == k_grid(64)
    assert section["beta_binomial"]["alpha"] == pytest.approx(fit_beta_binomial(ns, cs).alpha)
    assert section["power_law"]["predicted"].keys() >= {"1", "64", "640", "6400"}
    assert section["extrapolation_check"]["fit_on_first"] == 8
    assert section["selection"]["coverage"] == pytest.approx(coverage_curve(ns, cs, k_grid(64)))
    text = "\n".join(render_statistics(section, "fits.png", "sel.png"))
    assert "| 640 (extrapolated) |" in text and "![selection against coverage](sel.png)" in text


def test_report_statistics_of_degenerate_runs() -> None:
    from harness.report.stats import report_statistics

    assert report_statistics([]) == {}
    unsolved = report_statistics(outcome_problems([[False] * 4] * 3))
    assert "error" in unsolved["power_law"] and unsolved["extrapolation_check"] is None
    single = report_statistics(outcome_problems([[True], [False]]))
    assert single["coverage_band"]["ks"] == [1] and "error" in single["power_law"]


def test_extra_plots_are_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from harness.outcomes import RunSummary
    from harness.report.build import build_report
    from harness.report.plots import plot_extra
    from harness.report.stats import report_statistics

    rng = np.random.default_rng(9)
    rows = (rng.random((12, 32)) < rng.beta(0.5, 2.0, size=12)[:, None]).tolist()
    summary = RunSummary(run_name="r", task="t", model="m", backend="b", simulated=True,
                         problems=outcome_problems(rows))
    report = build_report(summary) | {"statistics": report_statistics(summary.problems, n_boot=100)}
    paths = plot_extra(report, tmp_path)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths.values()) and len(paths) == 2
    assert plot_extra(build_report(summary) | {"statistics": {}}, tmp_path / "none") == {}
