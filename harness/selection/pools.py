"""Candidate pools in, predictions.jsonl out.

Pools come from a dataset plus a samples or predictions file (as `monkeys verify` takes them),
or from a run directory (the CLI reads the store and hands rows here). Every dataset row goes
through `PublicInstance.of_row`: hidden fields never reach a pool. Grades (for the report only)
are read separately, from a verdicts.jsonl (`problem_id`, `sample_index`, `passed`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.models.replay import read_sample_rows
from harness.problems.datasets import read_file_rows
from harness.problems.patches import extract_patch
from harness.selection.records import CandidatePatch, Pool, PublicInstance, Selection


def patch_of(text: str) -> str:
    """The patch in an attempt's text (a prediction's model_patch is one already)."""
    return extract_patch(text) or ""


def build_pools(rows: Iterable[dict[str, Any]], samples: dict[str, Sequence[tuple[str, float | None]]],
                source: str = "") -> list[Pool]:
    """One pool per dataset row, in dataset order; attempts as (text, score) in attempt order."""
    pools = []
    for row in rows:
        instance = PublicInstance.of_row(row)
        attempts = samples.get(instance.instance_id, ())
        candidates = tuple(CandidatePatch(index=i, patch=patch_of(text), score=score, source=source)
                           for i, (text, score) in enumerate(attempts))
        pools.append(Pool(instance=instance, candidates=candidates))
    return pools


def pools_from_files(dataset: Path, samples: Path) -> list[Pool]:
    rows = [row.data for row in read_file_rows(dataset)]
    sample_rows = read_sample_rows(samples)
    return build_pools(rows, {pid: [(s.text, s.score) for s in rows_] for pid, rows_ in sample_rows.items()},
                       source=samples.name)


def read_grades(path: Path) -> dict[str, dict[int, bool]]:
    """problem_id -> attempt index -> passed, from a verdicts.jsonl (hidden tests: report only)."""
    grades: dict[str, dict[int, bool]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                grades.setdefault(str(row["problem_id"]), {})[int(row["sample_index"])] = bool(row["passed"])
    return grades


def write_predictions(selections: Sequence[Selection], pools: Sequence[Pool], path: Path,
                      model_name: str) -> int:
    """swebench predictions, one line per instance that has a selected patch; returns the count."""
    by_id = {pool.instance.instance_id: pool for pool in pools}
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for selection in selections:
            if selection.selected is None:
                continue  # no candidate: no line (the report lists the instance)
            candidate = next(c for c in by_id[selection.instance_id].candidates if c.index == selection.selected)
            fh.write(json.dumps({"instance_id": selection.instance_id, "model_name_or_path": model_name,
                                 "model_patch": candidate.patch}, ensure_ascii=False) + "\n")
            written += 1
    return written
