"""The command line as a user meets it: help, errors with exit status 2, verify, report, export, suites."""

import json
from pathlib import Path

import pytest

from harness.cli import main

GSM8K_ROWS = [
    {"question": "Ann has 3 apples and buys 4. How many?", "answer": "3+4=7\n#### 7"},
    {"question": "A box holds 1,200 pins; 200 are used. How many remain?", "answer": "1200-200\n#### 1,000"},
]
MATH_ROWS = [
    {"problem": "Simplify 6/8.", "solution": "$\\boxed{\\frac34}$", "answer": "\\frac{3}{4}", "unique_id": "test/a/1.json"},
    {"problem": "Solve x+1=1.5.", "solution": "$\\boxed{\\frac12}$", "answer": "\\frac{1}{2}", "unique_id": "test/a/2.json"},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_help_texts_explain_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("run", "verify", "report", "export"):
        assert command in out
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert "problem_id" in capsys.readouterr().out


def test_broken_config_exits_2_naming_the_field_and_writes_nothing(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("name: x\ntask: gsm8k\ndataset: {path: d.jsonl}\nmodel: {backend: simulated}\nsampling: {temprature: 1}\n")
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    assert "sampling.temprature" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_dataset_exits_2_naming_the_file(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("name: x\ntask: gsm8k\ndataset: {path: nowhere.jsonl}\nmodel: {backend: simulated}\n")
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    assert "nowhere.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_malformed_dataset_row_exits_2_naming_the_line(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(GSM8K_ROWS[0]) + "\n{not json\n")
    samples = write_jsonl(tmp_path / "s.jsonl", [{"problem_id": "0", "completion": "#### 7"}])
    code = main(["verify", "--task", "gsm8k", "--dataset", str(data), "--samples", str(samples), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "d.jsonl, line 2" in capsys.readouterr().err


def test_verify_gsm8k_with_equivalent_and_near_miss_answers(tmp_path):
    data = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS)
    samples = write_jsonl(tmp_path / "samples.jsonl", [
        {"problem_id": "0", "completion": "3 + 4 = 7\n#### 7"},
        {"problem_id": "0", "completion": "The answer is 7.00"},
        {"problem_id": "0", "completion": "#### 7.5"},
        {"problem_id": "1", "completion": "So 1000 pins remain.\n#### 1000"},
        {"problem_id": "1", "completion": "#### 1,001"},
        {"problem_id": "1", "completion": "no idea"},
    ])
    out = tmp_path / "out"
    assert main(["verify", "--task", "gsm8k", "--dataset", str(data), "--samples", str(samples), "--out", str(out), "--no-progress"]) == 0
    verdicts = read_jsonl(out / "verdicts.jsonl")
    assert [(v["problem_id"], v["sample_index"], v["passed"]) for v in verdicts] == [
        ("0", 0, True), ("0", 1, True), ("0", 2, False), ("1", 0, True), ("1", 1, False), ("1", 2, False)]
    report = json.loads((out / "report.json").read_text())
    assert report["pass_at_k"]["1"] == pytest.approx(0.5)
    # n=3 each; c=2 gives pass@2 = 1, c=1 gives 1 - C(2,2)/C(3,2) = 2/3.
    assert report["pass_at_k"]["2"] == pytest.approx((1 + 2 / 3) / 2)
    # Problem 0: the correct class wins 2 to 1. Problem 1: a 1-1 tie with "1,001" scores 0.5.
    assert report["majority_vote"] == pytest.approx(0.75)


def test_verify_math_with_latex_equivalents(tmp_path):
    data = write_jsonl(tmp_path / "math.jsonl", MATH_ROWS)
    samples = write_jsonl(tmp_path / "samples.jsonl", [
        {"problem_id": "test/a/1.json", "completion": "Final Answer: The final answer is $0.75$. I hope it is correct."},
        {"problem_id": "test/a/1.json", "completion": "so the result is $\\boxed{\\dfrac{3}{4}}$"},
        {"problem_id": "test/a/1.json", "completion": "Final Answer: The final answer is $\\frac{4}{3}$. I hope it is correct."},
        {"problem_id": "test/a/2.json", "completion": "Final Answer: The final answer is $0.5$. I hope it is correct."},
    ])
    out = tmp_path / "out"
    assert main(["verify", "--task", "math", "--dataset", str(data), "--samples", str(samples), "--out", str(out), "--no-progress"]) == 0
    assert [v["passed"] for v in read_jsonl(out / "verdicts.jsonl")] == [True, True, False, True]


def test_verify_rejects_samples_for_unknown_problems(tmp_path, capsys):
    data = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS)
    samples = write_jsonl(tmp_path / "samples.jsonl", [{"problem_id": "17", "completion": "#### 7"}])
    assert main(["verify", "--task", "gsm8k", "--dataset", str(data), "--samples", str(samples), "--out", str(tmp_path / "o")]) == 2
    assert "17" in capsys.readouterr().err


def test_suite_report_and_export(tmp_path, capsys):
    data = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS)
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\ntask: gsm8k\ndataset: {{path: gsm8k.jsonl}}\nmodel: {{backend: simulated}}\n"
            "sampling: {samples_per_problem: 8, n_per_request: 4}\n")
    (tmp_path / "suite.yaml").write_text("suite: [a.yaml, b.yaml]\n")
    out = tmp_path / "runs"
    assert main(["run", str(tmp_path / "suite.yaml"), "--out", str(out), "--no-progress"]) == 0
    assert (out / "a" / "report.md").is_file() and (out / "b" / "coverage.png").is_file()
    assert "SIMULATED" in (out / "a" / "report.md").read_text()
    (out / "a" / "report.json").unlink()
    assert main(["report", str(out / "a")]) == 0
    assert (out / "a" / "report.json").is_file()
    assert main(["export", str(out / "a")]) == 0
    rows = read_jsonl(out / "a" / "attempts.jsonl")
    assert len(rows) == 16 and {"text", "seed", "completion_tokens", "verdict"} <= set(rows[0])
    assert main(["report", str(tmp_path / "nothing")]) == 2


def test_a_suite_member_with_bad_verifier_settings_stops_the_suite_before_any_run(tmp_path, capsys):
    write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS)
    for name, verify in (("a", ""), ("b", "verify: {options: {flake_runs: 2}}\n")):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\ntask: gsm8k\ndataset: {{path: gsm8k.jsonl}}\nmodel: {{backend: simulated}}\n"
            "sampling: {samples_per_problem: 2}\n" + verify)
    (tmp_path / "suite.yaml").write_text("suite: [a.yaml, b.yaml]\n")
    out = tmp_path / "runs"
    assert main(["run", str(tmp_path / "suite.yaml"), "--out", str(out), "--no-progress"]) == 2
    assert "verify.options: task 'gsm8k' takes no verifier settings (given: flake_runs)" in capsys.readouterr().err
    assert not out.exists()  # not even the good member ran


def test_run_instances_picks_a_subset_that_can_be_widened(tmp_path, capsys):
    rows = GSM8K_ROWS + [{"question": "What is 2 times 5?", "answer": "2*5\n#### 10"}]
    write_jsonl(tmp_path / "gsm8k.jsonl", rows)
    config = tmp_path / "run.yaml"
    config.write_text("name: r\ntask: gsm8k\ndataset: {path: gsm8k.jsonl}\nmodel: {backend: simulated}\n"
                      "sampling: {samples_per_problem: 4}\n")
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--no-progress", "--instances", "2"]) == 0
    assert {r["problem_id"] for r in read_jsonl(out / "verdicts.jsonl")} == {"2"}
    # Widening the subset resumes the same run: problem 2's attempts are kept, 0 is added.
    first = {(r["problem_id"], r["sample_index"]): r for r in read_jsonl(out / "verdicts.jsonl")}
    assert main(["run", str(config), "--out", str(out), "--no-progress", "--instances", "0,2"]) == 0
    rows = read_jsonl(out / "verdicts.jsonl")
    assert {r["problem_id"] for r in rows} == {"0", "2"} and len(rows) == 8
    assert all(first[(r["problem_id"], r["sample_index"])] == r for r in rows if r["problem_id"] == "2")
    assert main(["run", str(config), "--out", str(out), "--no-progress", "--instances", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
