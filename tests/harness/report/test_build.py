"""Reports built from hand-made summaries whose every number is known in advance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.outcomes import AttemptOutcome, ProblemOutcome, RunSummary
from harness.records import VerdictStatus as S
from harness.report import build
from harness.report.build import build_report, write_report
from harness.report.markdown import SIMULATED_BANNER, render_markdown
from harness.report.plots import coverage_figure, flaky_figure, plot_coverage

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def problem(problem_id: str, *attempts: tuple[S, str | None]) -> ProblemOutcome:
    return ProblemOutcome(
        problem_id=problem_id,
        attempts=[AttemptOutcome(index=i, status=s, class_key=key, prompt_tokens=10, completion_tokens=i + 1)
                  for i, (s, key) in enumerate(attempts)],
    )


def summary(*problems: ProblemOutcome, simulated: bool = False, unique_candidates: int = 0) -> RunSummary:
    return RunSummary(run_name="gsm8k-demo", task="gsm8k", model="tiny-model", backend="simulated",
                      simulated=simulated, verifier="math", problems=list(problems),
                      unique_candidates=unique_candidates)


def two_problems(simulated: bool = False) -> RunSummary:
    """n = 4 each. p1: c = 2, majority right; p2: c = 0 with a model error and a timeout."""
    p1 = problem("p1", (S.PASSED, "42"), (S.FAILED, "41"), (S.PASSED, "42"), (S.NO_ANSWER, None))
    p2 = problem("p2", (S.FAILED, "7"), (S.FAILED, "7"), (S.MODEL_ERROR, None), (S.TIMEOUT, "8"))
    return summary(p1, p2, simulated=simulated, unique_candidates=4)


def test_known_pass_at_k_and_majority() -> None:
    report = build_report(two_problems())
    assert list(report["pass_at_k"]) == ["1", "2", "4"]
    assert report["pass_at_k"]["1"] == pytest.approx(0.25)
    assert report["pass_at_k"]["2"] == pytest.approx((1 - 1 / 6) / 2)  # p1: 1 - C(2,2)/C(4,2)
    assert report["pass_at_k"]["4"] == pytest.approx(0.5)
    assert report["pass_at_k_conventional"] == {"1": pytest.approx(0.25)}
    assert report["majority_vote"] == pytest.approx(0.5)  # p1 right, p2 has no correct class
    assert report["n_problems"] == 2 and report["solved"] == 1
    assert report["samples_per_problem"] == report["samples_per_problem_max"] == 4
    assert report["notes"] == []


def test_run_facts_are_copied() -> None:
    report = build_report(two_problems(simulated=True))
    assert {k: report[k] for k in ("run", "task", "model", "backend", "simulated", "verifier")} == {
        "run": "gsm8k-demo", "task": "gsm8k", "model": "tiny-model", "backend": "simulated",
        "simulated": True, "verifier": "math"}


def test_statuses_counted_and_errors_kept_in_n() -> None:
    report = build_report(two_problems())
    counts = report["attempts"]
    assert counts["total"] == 8 and counts["passed"] == 2 and counts["not_passed"] == 6
    assert counts["failed"] == 3 and counts["no_answer"] == 1
    assert counts["model_error"] == 1 and counts["timeout"] == 1
    assert counts["error"] == 0 and counts["apply_failed"] == 0
    assert set(counts) >= {s.value for s in S}
    assert [r["n"] for r in report["per_problem"]] == [4, 4]  # the model error is part of n


def test_dedup_ratio_and_tokens() -> None:
    report = build_report(two_problems())
    # 8 attempts, minus 1 no-answer and 1 model error = 6 with a candidate, 4 unique.
    assert report["unique_candidates"] == 4
    assert report["dedup_ratio"] == pytest.approx(6 / 4)
    assert report["tokens"] == {"prompt": 80, "completion": 2 * (1 + 2 + 3 + 4),
                                "per_attempt_prompt_mean": pytest.approx(80 / 8),
                                "per_attempt_completion_mean": pytest.approx(20 / 8), "estimated": False}
    assert build_report(summary(problem("p", (S.FAILED, "1"))))["dedup_ratio"] is None


def test_per_problem_rows() -> None:
    rows = build_report(two_problems())["per_problem"]
    assert rows[0] == {"problem_id": "p1", "n": 4, "c": 2, "pass_at_1": 0.5, "majority_correct": 1.0,
                       "excluded": False}
    assert rows[1]["c"] == 0 and rows[1]["majority_correct"] == 0.0


def test_majority_vote_ties_are_split() -> None:
    tied = problem("tie", (S.PASSED, "a"), (S.FAILED, "b"), (S.PASSED, "a"), (S.FAILED, "b"))
    three_way = problem("three", (S.PASSED, "a"), (S.FAILED, "b"), (S.FAILED, "c"), (S.MODEL_ERROR, None))
    outvoted = problem("out", (S.FAILED, "b"), (S.FAILED, "b"), (S.PASSED, "a"), (S.NO_ANSWER, None))
    report = build_report(summary(tied, three_way, outvoted))
    assert [r["majority_correct"] for r in report["per_problem"]] == pytest.approx([0.5, 1 / 3, 0.0])
    assert report["majority_vote"] == pytest.approx((0.5 + 1 / 3) / 3)


def test_unequal_n_uses_smallest() -> None:
    small = problem("small", (S.PASSED, "1"), (S.FAILED, "2"))
    large = problem("large", *[(S.FAILED, "9")] * 5)
    report = build_report(summary(small, large))
    assert report["samples_per_problem"] == 2 and report["samples_per_problem_max"] == 5
    assert report["pass_at_k"] == {"1": pytest.approx(0.25), "2": pytest.approx(0.5)}
    assert any("unequal" in note for note in report["notes"])


def test_problems_without_attempts_are_listed_but_excluded() -> None:
    empty = ProblemOutcome(problem_id="empty", attempts=[])
    report = build_report(summary(problem("p", (S.PASSED, "1"), (S.FAILED, "2")), empty))
    assert report["n_problems"] == 1 and report["n_problems_excluded"] == 1
    assert report["pass_at_k"]["1"] == pytest.approx(0.5)  # not diluted by the empty problem
    assert report["per_problem"][1] == {"problem_id": "empty", "n": 0, "c": 0, "pass_at_1": None,
                                        "majority_correct": None, "excluded": True}
    assert any("empty" in note for note in report["notes"])


def test_empty_run_still_reports() -> None:
    report = build_report(summary())
    assert report["pass_at_k"] == {} and report["majority_vote"] is None
    assert report["samples_per_problem"] == 0 and report["attempts"]["total"] == 0
    assert "No attempts" in render_markdown(report, "coverage.png")


def test_report_is_json_roundtrippable() -> None:
    report = build_report(two_problems())
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_markdown_content() -> None:
    report = build_report(two_problems())
    text = render_markdown(report, "coverage.png")
    assert text.startswith("# ") and "gsm8k-demo" in text.splitlines()[0]
    assert SIMULATED_BANNER not in text
    assert "![coverage against samples](coverage.png)" in text
    assert "| 4 | 0.5000 |" in text  # pass@4 row
    assert "majority vote" in text and "pass@4 (coverage)" in text
    assert "| model_error | 1 |" in text and "WARNING: 1 model errors" in text
    assert text.index("`p2`") < text.index("`p1`")  # hardest (unsolved) first


def test_simulated_banner_in_markdown_and_plot_title() -> None:
    report = build_report(two_problems(simulated=True))
    text = render_markdown(report, "coverage.png")
    assert SIMULATED_BANNER in text
    assert text.index(SIMULATED_BANNER) < text.index("## Run")  # near the top, not buried
    assert "(simulated model)" in coverage_figure(report).axes[0].get_title()
    assert "(simulated model)" not in coverage_figure(build_report(two_problems())).axes[0].get_title()


def test_hardest_list_is_capped_at_ten() -> None:
    problems = [problem(f"q{i:02d}", *([(S.PASSED, "1")] * (i % 4) + [(S.FAILED, "0")] * (4 - i % 4)))
                for i in range(25)]
    text = render_markdown(build_report(summary(*problems)), "coverage.png")
    hardest = text.split("## Hardest problems")[1]
    assert hardest.count("| `q") == 10
    assert "(7 unsolved)" in text  # i % 4 == 0 for i in 0, 4, ..., 24


def test_plot_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "coverage.png"
    plot_coverage(build_report(two_problems(simulated=True)), path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5_000


def test_plot_handles_single_k_and_empty_runs(tmp_path: Path) -> None:
    plot_coverage(build_report(summary(problem("p", (S.PASSED, "1")))), tmp_path / "one.png")
    plot_coverage(build_report(summary()), tmp_path / "none.png")
    assert (tmp_path / "one.png").read_bytes().startswith(PNG_MAGIC)
    assert (tmp_path / "none.png").read_bytes().startswith(PNG_MAGIC)


def test_write_report_writes_its_files_and_no_temps(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "run1"
    paths = write_report(two_problems(simulated=True), out)
    assert set(paths) == {"json", "markdown", "plot", "fits_plot", "selection_plot"}
    assert sorted(p.name for p in out.iterdir()) == ["coverage.png", "coverage_fits.png", "report.json", "report.md", "selection.png"]
    assert json.loads(paths["json"].read_text()) == build_report(two_problems(simulated=True))
    assert "](coverage.png)" in paths["markdown"].read_text()
    assert paths["plot"].read_bytes().startswith(PNG_MAGIC)


def test_write_report_failure_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_plot(report: dict, path: Path) -> None:
        path.write_bytes(b"half a png")
        raise RuntimeError("plot failed")

    monkeypatch.setattr(build, "plot_coverage", broken_plot)
    with pytest.raises(RuntimeError):
        write_report(two_problems(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]


def test_flaky_problems_are_reported_three_ways() -> None:
    def attempts(grades: list[tuple[bool, bool]]) -> list[AttemptOutcome]:
        return [AttemptOutcome(index=i, status=S.PASSED if strict else S.FAILED,
                               lenient_passed=lenient) for i, (strict, lenient) in enumerate(grades)]

    summary = RunSummary(run_name="r", task="swebench", model="m", backend="b", simulated=False, problems=[
        ProblemOutcome(problem_id="steady", attempts=attempts([(True, True), (False, False)])),
        # A flaky PASS_TO_PASS test failed one good patch: strict 0 of 2, set aside 1 of 2.
        ProblemOutcome(problem_id="flaky", flaky=True, attempts=attempts([(False, True), (False, False)])),
    ])
    report = build_report(summary)
    flaky = report["flaky"]
    assert flaky["flaky_problems"] == ["flaky"]
    assert report["pass_at_k"]["1"] == pytest.approx(0.25)
    assert flaky["pass_at_k_flaky_tests_set_aside"]["1"] == pytest.approx(0.5)
    assert flaky["pass_at_k_without_flaky_problems"]["1"] == pytest.approx(0.5)
    assert flaky["n_problems_without_flaky"] == 1
    assert "## Flaky tests" in render_markdown(report, "coverage.png")
    assert build_report(two_problems(simulated=False))["flaky"] is None


def flaky_summary() -> RunSummary:
    """Two problems, n = 4: one steady (c = 2), one flaky (strict c = 0, set aside c = 1)."""
    def attempts(grades: str) -> list[AttemptOutcome]:  # "S": passed strictly, "L": passed with flaky tests set aside
        return [AttemptOutcome(index=i, status=S.PASSED if g == "S" else S.FAILED, class_key=f"k{i}",
                               lenient_passed=g in "SL") for i, g in enumerate(grades)]

    return RunSummary(run_name="r", task="swebench", model="m", backend="b", simulated=False, problems=[
        ProblemOutcome(problem_id="steady", attempts=attempts("SS--")),
        ProblemOutcome(problem_id="flaky", flaky=True, attempts=attempts("L---"))])


def test_flaky_plot_is_written_listed_and_linked(tmp_path: Path) -> None:
    paths = write_report(flaky_summary(), tmp_path)
    report = json.loads(paths["json"].read_text())
    assert report["plots"] == {"coverage": "coverage.png", "coverage_fits": "coverage_fits.png",
                               "selection": "selection.png", "flaky": "flaky.png"}
    assert paths["flaky_plot"] == tmp_path / "flaky.png" and paths["flaky_plot"].read_bytes().startswith(PNG_MAGIC)
    assert "![effect of flaky tests](flaky.png)" in paths["markdown"].read_text()
    # The plotted curves are report.json's: strict, set aside, without the flaky problem.
    ax = flaky_figure(report).axes[0]
    curves = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert curves["strict"] == pytest.approx([(0.5 + 0) / 2, (5 / 6 + 0) / 2, (1 + 0) / 2])
    assert curves["flaky tests set aside"] == pytest.approx([(0.5 + 0.25) / 2, (5 / 6 + 0.5) / 2, (1 + 1) / 2])
    assert curves["without the 1 flaky problem(s)"] == pytest.approx([0.5, 5 / 6, 1.0])


def test_every_listed_plot_exists_and_nothing_else(tmp_path: Path) -> None:
    for run, out in ((two_problems(), tmp_path / "a"), (summary(), tmp_path / "empty")):
        paths = write_report(run, out)
        listed = json.loads(paths["json"].read_text())["plots"].values()
        assert sorted(p.name for p in out.glob("*.png")) == sorted(listed)
