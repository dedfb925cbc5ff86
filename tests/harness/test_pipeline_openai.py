"""A whole run against a real HTTP server on 127.0.0.1 that misbehaves: nothing is lost."""

import json

import pytest

from harness.config import config_from_dict
from harness.pipeline import execute
from tests.harness.models.fake_openai_server import Fault, FakeOpenAIServer
from tests.harness.toy_task import write_toy_dataset


@pytest.fixture
def server():
    fake = FakeOpenAIServer()
    yield fake
    fake.stop()


def test_faulty_server_run_loses_no_attempt(tmp_path, server, toy_task_registered, monkeypatch):
    write_toy_dataset(tmp_path / "toy.jsonl", count=5)
    base_url = server.start(faults={
        "Q: What is 1 + 2?\nA:": [Fault.http(429), Fault.http(500), Fault.drop(), Fault.malformed()],  # transient
        "Q: What is 2 + 4?\nA:": [Fault.http(503, times=None)],  # never recovers
        "Q: What is 3 + 6?\nA:": [Fault.sleep(2.0), Fault.few_choices()],  # slow reply, then a short one
    })
    monkeypatch.setenv("TEST_KEY", "sk-test")
    config = config_from_dict({
        "name": "faulty", "task": "toy", "dataset": {"path": str(tmp_path / "toy.jsonl")},
        "model": {"backend": "openai", "model": "m", "base_url": base_url, "api": "completions",
                  "concurrency": 3, "timeout_s": 1.0, "max_retries": 5, "retry_base_s": 0.01, "retry_max_s": 0.05, "api_key_env": "TEST_KEY"},
        "sampling": {"samples_per_problem": 6, "n_per_request": 3},
        "verify": {"workers": 1},
    })
    execute(config, tmp_path / "run", show_progress=False)
    verdicts = [json.loads(line) for line in (tmp_path / "run/verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 5 * 6
    by_problem = {}
    for v in verdicts:
        by_problem.setdefault(v["problem_id"], []).append(v["status"])
    assert by_problem["p2"] == ["model_error"] * 6
    assert all(s != "model_error" for pid, statuses in by_problem.items() if pid != "p2" for s in statuses)
    report = json.loads((tmp_path / "run/report.json").read_text())
    assert report["attempts"]["model_error"] == 6 and report["attempts"]["total"] == 30
    assert "model error" in (tmp_path / "run/report.md").read_text().lower()
    assert server.hits("Q: What is 1 + 2?\nA:") == 2 + 4  # two requests, four transient faults retried


def test_a_server_that_ignores_n_is_recorded_in_the_run_and_said_in_the_report(tmp_path, toy_task_registered):
    from harness.store import RunStore

    write_toy_dataset(tmp_path / "toy.jsonl", count=3)
    context_error = "This model's maximum context length is 64 tokens. However, you requested 600 tokens."
    with FakeOpenAIServer(ignores_n=True) as server:  # like llama.cpp's server: one choice whatever n says
        base_url = server.start(faults={"Q: What is 2 + 4?\nA:": [Fault.http(400, times=None, message=context_error)]})
        config = config_from_dict({
            "name": "one_choice", "task": "toy", "dataset": {"path": str(tmp_path / "toy.jsonl")},
            "model": {"backend": "openai", "model": "m", "base_url": base_url, "api": "completions", "api_key_env": None,
                      "concurrency": 2, "max_retries": 1, "retry_base_s": 0.01},
            "sampling": {"samples_per_problem": 6, "n_per_request": 3},
            "verify": {"workers": 1},
        })
        execute(config, tmp_path / "run", show_progress=False)
    store = RunStore(tmp_path / "run")
    try:
        attempts = list(store.attempts())
        notes = store.meta().backend_notes
    finally:
        store.close()
    assert set(notes) == {"one_choice_per_call", "context_length"}
    ok = [a for a in attempts if a.problem_id != "p2"]
    assert len(ok) == 12 and all(a.status == "ok" for a in ok)
    # One request per sample: each attempt's prompt was processed for it, so each is charged its prompt.
    assert all(a.prompt_tokens > 0 and a.completion_tokens > 0 for a in ok)
    assert all(a.seed == a.index for a in attempts)
    too_long = [a for a in attempts if a.problem_id == "p2"]
    assert len(too_long) == 6 and all(a.status == "error" and a.finish_reason == "context_length" for a in too_long)
    report = json.loads((tmp_path / "run/report.json").read_text())
    assert report["simulated"] is False and report["attempts"]["total"] == 18
    assert any("no longer share" in note for note in report["notes"]) and report["backend_notes"] == list(notes.values())
    markdown = (tmp_path / "run/report.md").read_text()
    assert "no longer share one prefill" in markdown and "context window" in markdown
