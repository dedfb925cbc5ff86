"""Export a run's attempts, with their candidates and verdicts, as JSON lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness.registry import load_task
from harness.runview import open_store, stored_task
from harness.store import RunStore, dump_jsonl


def attempt_rows(store: RunStore) -> Iterator[dict]:
    verifier = load_task(stored_task(store)).verifier()
    verdicts = store.verdicts_by_candidate(verifier.name, verifier.version)
    for attempt in store.attempts():
        verdict = verdicts.get((attempt.problem_id, attempt.candidate_key)) if attempt.candidate_key else None
        row = attempt.model_dump(mode="json")
        row["verdict"] = verdict.model_dump(mode="json") if verdict else None
        yield row


def export_attempts(run_dir: Path, out: Path) -> int:
    with open_store(run_dir) as store:
        return dump_jsonl(attempt_rows(store), out)
