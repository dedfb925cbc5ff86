"""Candidate pools in, predictions.jsonl out.

Pools come from a dataset plus a samples or predictions file (as `monkeys verify` takes them),
or from a run directory (the CLI reads the store and hands rows here). The dataset is a JSON /
JSONL file of rows or a swebench 5 task repo directory, read by the same readers as `monkeys
verify` (`harness.problems.datasets`, `harness.problems.task_repo`); a row without `image` gets
swebench's own name for it, as verify gives it. Every dataset row goes through
`PublicInstance.of_row`: hidden fields never reach a pool, and none is required (blanked or
absent, selection is the same). Grades (for the report only) are read separately, from a
verdicts.jsonl (`problem_id`, `sample_index`, `passed`).

A prediction's `model_patch` is taken verbatim when it is a diff from its first line: it is
what the official harness would apply. Other texts (completions) go through `extract_patch`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.models.replay import ImportedSample, read_sample_rows
from harness.problems.base import DatasetError
from harness.problems.datasets import read_file_rows
from harness.problems.patches import extract_patch, looks_like_diff
from harness.problems.task_repo import read_task_repo
from harness.selection.records import CandidatePatch, Pool, PublicInstance, Selection


def patch_of(text: str) -> str:
    """The patch in an attempt's text: the text itself when it starts as a diff, else the diff in it."""
    first = text.lstrip("\r\n").split("\n", 2)
    if first and looks_like_diff("\n".join(first[:2])):
        return text
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


def dataset_rows(path: Path) -> list[dict[str, Any]]:
    """The instances of a dataset file or task repo directory, every split, each with an `image`."""
    if not path.exists():
        raise DatasetError(f"--dataset: not found: {path}")
    if path.is_dir():
        repo = read_task_repo(path, split=None)
        for message in repo.bad.values():
            print(f"monkeys select: skipped {message}", file=sys.stderr)
        rows = [row.data for row in repo.rows]
    else:
        rows = [row.data for row in read_file_rows(path)]
    seen: set[str] = set()
    for number, row in enumerate(rows, 1):
        iid = row.get("instance_id")
        if not isinstance(iid, str) or not iid:
            raise DatasetError(f"{path}, row {number}: no `instance_id`")
        if iid in seen:
            raise DatasetError(f"{path}: instance {iid} appears twice")
        seen.add(iid)
    return [{**row, "image": row.get("image") or _swebench_image(row["instance_id"])} for row in rows]


def _swebench_image(instance_id: str) -> str:
    from harness.problems.swebench import derived_image  # noqa: PLC0415 - imports swebench

    return derived_image(instance_id)


def read_candidates(path: Path) -> dict[str, list[ImportedSample]]:
    """Attempts per instance from samples JSONL, swebench predictions JSONL, or swebench predictions
    JSON (a list, or a mapping of instance id to prediction, as the official harness reads them)."""
    if not path.is_file():
        raise DatasetError(f"--samples: not found: {path}")
    if not path.name.endswith(".json"):
        return read_sample_rows(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    rows = list(document.values()) if isinstance(document, dict) else document
    if not isinstance(rows, list):
        raise DatasetError(f"{path}: expected a list of predictions or a mapping of instance id to prediction")
    samples: dict[str, list[ImportedSample]] = {}
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "instance_id" not in row or not isinstance(row.get("model_patch", ""), str | None):
            raise DatasetError(f'{path}, prediction {number}: expected {{"instance_id": ..., "model_patch": "<diff>"}}')
        samples.setdefault(str(row["instance_id"]), []).append(ImportedSample(row.get("model_patch") or ""))
    return samples


def pools_from_files(dataset: Path, samples: Path) -> list[Pool]:
    rows = dataset_rows(dataset)
    attempts = read_candidates(samples)
    unknown = sorted(set(attempts) - {row["instance_id"] for row in rows})
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        print(f"monkeys select: {len(unknown)} instance(s) in {samples} are not in {dataset}, left out: {shown}",
              file=sys.stderr)
    return build_pools(rows, {pid: [(s.text, s.score) for s in rows_] for pid, rows_ in attempts.items()},
                       source=samples.name)


def read_grades(path: Path) -> dict[str, dict[int, bool]]:
    """problem_id -> attempt index -> passed, from a verdicts.jsonl (hidden tests: report only)."""
    grades: dict[str, dict[int, bool]] = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    row = json.loads(line)
                    grades.setdefault(str(row["problem_id"]), {})[int(row["sample_index"])] = bool(row["passed"])
                except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                    raise DatasetError(f"{path}, line {number}: expected a verdict "
                                       '{"problem_id": ..., "sample_index": N, "passed": true|false}') from None
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
