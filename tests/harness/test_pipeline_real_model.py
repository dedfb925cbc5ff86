"""Whole runs with a real model: SmolLM2-135M-Instruct behind llama.cpp's server (tests/conftest.py).

A few problems x a few samples, small max_tokens. They assert behaviour, never scores: every
attempt stored with the server's token counts, every candidate judged, the server's quirks
recorded, the report marked as a real (not simulated) model. The numbers are what they are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.config import load_config
from harness.pipeline import execute
from harness.store import RunStore
from tests.conftest import SMALL_MODEL

ROOT = Path(__file__).resolve().parents[2]
PROBLEMS, SAMPLES = 3, 3


def real_run(tmp_path: Path, base_url: str, *extra: str) -> tuple[dict[str, Any], list, dict[str, str], Path]:
    """configs/small_model.yaml (the README's run) against the test server, made small."""
    overrides = [f"model.base_url={base_url}", "model.max_retries=1", f"dataset.limit={PROBLEMS}",
                 f"sampling.samples_per_problem={SAMPLES}", f"sampling.n_per_request={SAMPLES}", *extra]
    run_dir = tmp_path / "run"
    execute(load_config(ROOT / "configs" / "small_model.yaml", overrides), run_dir, show_progress=False)
    store = RunStore(run_dir)
    try:
        attempts, notes = list(store.attempts()), store.meta().backend_notes
    finally:
        store.close()
    return json.loads((run_dir / "report.json").read_text()), attempts, notes, run_dir


def assert_real_run(report: dict[str, Any], attempts: list, notes: dict[str, str], run_dir: Path) -> None:
    assert report["simulated"] is False and report["model"] == SMALL_MODEL
    assert len(attempts) == PROBLEMS * SAMPLES and report["attempts"]["total"] == PROBLEMS * SAMPLES
    assert all(a.status == "ok" and a.error is None for a in attempts), [a.error for a in attempts if a.error]
    # The server's own token counts; one request per sample, so every attempt carries its prompt.
    assert all(a.completion_tokens > 0 and a.prompt_tokens > 0 for a in attempts)
    assert all(a.finish_reason in ("stop", "length") for a in attempts)
    assert {a.seed for a in attempts} == set(range(SAMPLES))
    assert "one_choice_per_call" in notes and notes["one_choice_per_call"] in report["notes"]
    verdicts = [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == PROBLEMS * SAMPLES
    # Every attempt has a verdict: judged, or no answer to judge; none left unverified or a model error.
    assert all(v["status"] not in ("error", "model_error") for v in verdicts), verdicts
    markdown = (run_dir / "report.md").read_text()
    assert "- Simulated model: no" in markdown and "SIMULATED" not in markdown and "no longer share one prefill" in markdown


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_humaneval_with_a_real_model(tmp_path: Path, llama_server: str, api: str) -> None:
    report, attempts, notes, run_dir = real_run(tmp_path, llama_server, f"model.api={api}", "sampling.max_tokens=128")
    assert_real_run(report, attempts, notes, run_dir)
    judged = [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text().splitlines()]
    # Programs the model wrote ran in the sandbox: their verdicts carry the test run's evidence.
    assert all(v["evidence"] for v in judged if v["status"] in ("passed", "failed", "timeout"))


def test_gsm8k_with_a_real_model(tmp_path: Path, llama_server: str) -> None:
    report, attempts, notes, run_dir = real_run(tmp_path, llama_server, "task=gsm8k", "dataset.path=data/demo_gsm8k.jsonl",
                                                "sampling.max_tokens=96")
    assert_real_run(report, attempts, notes, run_dir)
    assert report["tokens"]  # the report's token section is the server's counts, summed
