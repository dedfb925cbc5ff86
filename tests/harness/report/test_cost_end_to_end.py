"""Cost through the whole path: samples in, store, report.json / report.md / plots out.

Table 1 of Large Language Monkeys from inputs of its shape: per-attempt token counts priced
at DeepSeek's list price (configs/prices.yaml), per-instance `resolved` lists for the two
single-attempt systems plus their cost per instance. The samples are judged by the math
verifier standing in for SWE-bench's (which needs Docker and the real instances); the
instance ids, resolved lists, prices and arithmetic are those of the table.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from harness.cli import main

REPO = Path(__file__).resolve().parents[3]
LITE = [f"repo__repo-{i}" for i in range(300)]  # stand-ins for the 300 SWE-bench Lite ids
RIGHT, WRONG = "so the answer is $\\boxed{1}$", "so the answer is $\\boxed{2}$"
# 40,000 prompt + 5,715 completion tokens at $0.14 / $0.28 per million: $0.0072002 per attempt.
PROMPT_TOKENS, COMPLETION_TOKENS = 40_000, 5_715


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def table_1_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Dataset, samples and cost file. DeepSeek-Coder-V2's pass@5 is 29.62%: 88 instances solved
    by every attempt, one solved by 81 of 250 (pass@5 = 1 - C(169,5)/C(250,5) = 0.862), the rest never."""
    dataset = write_jsonl(tmp_path / "lite_as_math.jsonl", [
        {"problem": f"Instance {i}: what is 3 - 2?", "solution": "$\\boxed{1}$", "answer": "1", "unique_id": pid}
        for i, pid in enumerate(LITE)])
    samples = []
    for i, pid in enumerate(LITE):
        n, right = (250, 81) if i == 88 else (5, 5 if i < 88 else 0)
        samples += [{"problem_id": pid, "completion": RIGHT if j < right else WRONG,
                     "prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS} for j in range(n)]
    samples_path = write_jsonl(tmp_path / "samples.jsonl", samples)
    for name, count in (("gpt4o", 72), ("claude", 80)):  # 24.00% and 26.67% of Lite
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps({"resolved": LITE[:count], "no_generation": []}))
    (tmp_path / "baselines.yaml").write_text(yaml.safe_dump({"baselines": {
        "gpt4o": {"name": "GPT-4o", "resolved": "gpt4o/results.json", "cost_per_instance_usd": 0.13, "source": "t"},
        "claude": {"name": "Claude 3.5 Sonnet", "resolved": "claude/results.json", "cost_per_instance_usd": 0.17,
                   "source": "t"}}}, sort_keys=False))
    shutil.copy(REPO / "configs" / "prices.yaml", tmp_path / "prices.yaml")
    cost = tmp_path / "cost.yaml"
    cost.write_text(yaml.safe_dump({"prices": "prices.yaml", "api": "deepseek-coder-v2", "baselines": "baselines.yaml",
                                    "table_attempts": [5]}))
    return dataset, samples_path, cost


def test_table_1_end_to_end_through_monkeys_verify(tmp_path: Path) -> None:
    dataset, samples, cost = table_1_inputs(tmp_path)
    out = tmp_path / "run"
    assert main(["verify", "--task", "math", "--dataset", str(dataset), "--samples", str(samples), "--out", str(out),
                 "--model", "DeepSeek-Coder-V2-Instruct", "--cost", str(cost), "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    table = report["cost"]["table"]
    assert [(r["system"], r["attempts"], r["n_instances"]) for r in table] == [
        ("DeepSeek-Coder-V2-Instruct", 5, 300), ("GPT-4o", 1, 300), ("Claude 3.5 Sonnet", 1, 300)]
    assert [round(r["percent_solved"], 2) for r in table] == [29.62, 24.00, 26.67]
    assert table[0]["cost_per_attempt_usd"] == pytest.approx(0.0072, abs=1e-6)
    assert [round(r["total_usd"], 1) for r in table] == [10.8, 39.0, 51.0]
    markdown = (out / "report.md").read_text()
    assert "| DeepSeek-Coder-V2-Instruct | 0.0072 | 5 | 29.62 | 10.8 |" in markdown
    assert "| GPT-4o | 0.13 | 1 | 24.00 | 39 |" in markdown
    assert "| Claude 3.5 Sonnet | 0.17 | 1 | 26.67 | 51 |" in markdown
    # Imported samples measure no sampling time; tokens per attempt are the file's.
    assert report["sampling_wall_s"] is None
    assert report["tokens"]["per_attempt_completion_mean"] == COMPLETION_TOKENS
    # One prompt per sample: 1,745 attempts of 40,000 prompt tokens, however the rows were grouped.
    assert report["tokens"]["prompt"] == (299 * 5 + 250) * PROMPT_TOKENS
    # Both baselines are matched at one attempt (pass@1 = (88 + 81/250) / 300 = 29.44%).
    assert [b["to_reach"]["k"] for b in report["cost"]["baselines"]] == [1, 1]
    assert report["plots"]["cost_coverage"] == "cost_coverage.png"
    assert (out / "cost_coverage.png").read_bytes().startswith(b"\x89PNG")
    assert "![cost against coverage](cost_coverage.png)" in markdown


def test_report_reprices_a_run_from_its_store_alone(tmp_path: Path) -> None:
    dataset, samples, cost = table_1_inputs(tmp_path)
    out = tmp_path / "run"
    assert main(["verify", "--task", "math", "--dataset", str(dataset), "--samples", str(samples),
                 "--out", str(out), "--no-progress"]) == 0
    assert json.loads((out / "report.json").read_text())["cost"] is None  # unpriced, tokens still reported
    assert main(["report", str(out), "--cost", str(cost)]) == 0
    priced = json.loads((out / "report.json").read_text())["cost"]
    # The run keeps its cost inputs: with every input file gone, a plain report prices it the same.
    for name in ("prices.yaml", "baselines.yaml", "cost.yaml", "gpt4o", "claude"):
        shutil.rmtree(tmp_path / name) if (tmp_path / name).is_dir() else (tmp_path / name).unlink()
    assert main(["report", str(out)]) == 0
    assert json.loads((out / "report.json").read_text())["cost"] == priced


def test_bad_cost_file_exits_2_naming_the_field_and_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dataset, samples, cost = table_1_inputs(tmp_path)
    out = tmp_path / "run"
    assert main(["verify", "--task", "math", "--dataset", str(dataset), "--samples", str(samples),
                 "--out", str(out), "--no-progress"]) == 0
    before = (out / "report.json").read_text()
    (tmp_path / "bad.yaml").write_text("prices: prices.yaml\napi: no-such-model\n")
    assert main(["report", str(out), "--cost", str(tmp_path / "bad.yaml")]) == 2
    assert "no price for 'no-such-model'" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("prices: prices.yaml\napi: deepseek-coder-v2\ngpu: h100-80gb\n")
    assert main(["report", str(out), "--cost", str(tmp_path / "bad.yaml")]) == 2
    assert "exactly one of cost.api" in capsys.readouterr().err
    assert (out / "report.json").read_text() == before


def test_measured_sampling_time_prices_gpu_hours_and_adds_up_over_resumes(tmp_path: Path, toy_task_registered: str) -> None:
    from harness.config import config_from_dict
    from harness.pipeline import execute
    from harness.store import RunStore
    from tests.harness.toy_task import write_toy_dataset

    write_toy_dataset(tmp_path / "toy.jsonl", count=4)
    (tmp_path / "prices.yaml").write_text("gpus:\n  h100:\n    usd_per_gpu_hour: 3.0\n    source: example\n")

    def run(samples: int) -> tuple[float, dict]:
        config = config_from_dict({
            "name": "toy", "task": "toy", "dataset": {"path": "toy.jsonl"},
            "model": {"backend": "simulated"}, "sampling": {"samples_per_problem": samples, "n_per_request": 2},
            "verify": {"workers": 1}, "cost": {"prices": "prices.yaml", "gpu": "h100", "n_gpus": 2},
        }, base=tmp_path)
        paths = execute(config, tmp_path / "run", show_progress=False)
        store = RunStore(tmp_path / "run")
        meta = store.meta()
        wall = float("nan") if meta is None or meta.sampling_wall_s is None else meta.sampling_wall_s
        store.close()
        return wall, json.loads(paths["json"].read_text())

    first, _ = run(4)
    second, report = run(8)  # resumed: 4 more samples per problem
    assert 0 < first < second and report["sampling_wall_s"] == second
    third, report = run(8)  # nothing left to sample: no time added
    assert third == second
    cost = report["cost"]
    assert cost["basis"]["kind"] == "gpu_hours" and cost["basis"]["gpu_hours_measured"] is True
    assert cost["basis"]["gpu_hours"] == pytest.approx(2 * second / 3600)
    assert cost["total_usd"] == pytest.approx(3.0 * 2 * second / 3600)
    assert cost["per_attempt_usd"] == pytest.approx(cost["total_usd"] / 32)
    assert "measured sampling time" in (tmp_path / "run" / "report.md").read_text()
