"""Reading dataset rows: local JSON / JSONL files (optionally gzipped) or a Hugging Face dataset.

A swebench 5 task repo directory is read by harness.problems.task_repo (task swebench).

Loaders get rows with their source line so every error can name the file and the line.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.problems.base import DatasetError

if TYPE_CHECKING:
    from harness.config import DatasetConfig
    from harness.records import Problem

HUB_INSTALL_HINT = "pip install 'monkeys[hub]'"


@dataclass(frozen=True)
class SourceRow:
    """One dataset row and where it came from, for error messages."""

    source: str  # a file path, or "hub:<name>[split]"
    line: int  # 1-based line of a JSONL file (item number in a JSON list, row number on the hub)
    index: int  # 0-based position among the rows
    data: dict[str, Any]
    label: str | None = None  # how messages name the row when a line number means nothing (a task repo's task)

    def where(self) -> str:
        return self.label or f"{self.source}, line {self.line}"


def _open_text(path: Path) -> str:
    if path.is_dir():
        raise DatasetError(f"{path} is a directory: only task swebench reads a directory (a swebench 5 task repo); "
                           "other tasks read a .json / .jsonl file")
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path}")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return handle.read()
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc


def _rows_from_jsonl(text: str, source: str) -> list[SourceRow]:
    rows: list[SourceRow] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue  # blank lines (often a trailing one) are not rows
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{source}, line {line_number}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise DatasetError(f"{source}, line {line_number}: expected a JSON object, got {type(data).__name__}")
        rows.append(SourceRow(source, line_number, len(rows), data))
    return rows


def _rows_from_json_list(text: str, source: str) -> list[SourceRow]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several documents: JSON Lines under a .json name
            return _rows_from_jsonl(text, source)
        raise DatasetError(f"{source}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(document, list):
        raise DatasetError(f"{source}: expected a JSON list of rows, got {type(document).__name__}")
    rows: list[SourceRow] = []
    for index, data in enumerate(document):
        if not isinstance(data, dict):
            raise DatasetError(f"{source}, item {index + 1}: expected a JSON object, got {type(data).__name__}")
        rows.append(SourceRow(source, index + 1, index, data))
    return rows


def read_file_rows(path: Path) -> list[SourceRow]:
    """Rows of a .json (a list) / .jsonl / .json.gz / .jsonl.gz file."""
    text = _open_text(path)
    name = path.name.removesuffix(".gz")
    if name.endswith(".json"):
        return _rows_from_json_list(text, str(path))
    return _rows_from_jsonl(text, str(path))


def read_hub_rows(name: str, config_name: str | None, split: str) -> list[SourceRow]:
    """Rows of a Hugging Face dataset; `datasets` is an optional extra, imported only here."""
    try:
        import datasets  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise DatasetError(f"dataset.hub={name!r} needs the Hugging Face `datasets` library: {HUB_INSTALL_HINT}") from None
    source = f"hub:{name}[{split}]"
    try:
        table = datasets.load_dataset(name, config_name, split=split)
    except Exception as exc:  # network, unknown name, unknown split: all unusable for us
        raise DatasetError(f"{source}: cannot load: {exc}") from exc
    return [SourceRow(source, index + 1, index, dict(row)) for index, row in enumerate(table)]


def read_source_rows(dataset: DatasetConfig) -> list[SourceRow]:
    if dataset.path is not None:
        return read_file_rows(Path(dataset.path))
    if dataset.hub is not None:
        return read_hub_rows(dataset.hub, dataset.hub_config, dataset.split)
    raise DatasetError("dataset has neither path nor hub")


def read_rows(dataset: DatasetConfig) -> list[dict[str, Any]]:
    """The dataset's rows as dicts, in file order."""
    return [row.data for row in read_source_rows(dataset)]


def read_fewshot_rows(dataset: DatasetConfig) -> list[SourceRow]:
    """The first `fewshot_k` rows of `fewshot_path`; empty when no file is given."""
    if dataset.fewshot_path is None or dataset.fewshot_k == 0:
        return []
    return read_file_rows(Path(dataset.fewshot_path))[: dataset.fewshot_k]


def check_unique_ids(problems: Sequence[Problem], source: str) -> None:
    """Runs key everything by problem id, so a repeated id would silently merge two problems."""
    seen: set[str] = set()
    for problem in problems:
        if problem.id in seen:
            raise DatasetError(f"{source}: problem id {problem.id!r} appears more than once")
        seen.add(problem.id)


def wanted_ids(dataset: DatasetConfig) -> list[str] | None:
    """`ids`, then the lines of `ids_file` (blank lines and # comments skipped); None when neither is given."""
    if dataset.ids is None and dataset.ids_file is None:
        return None
    ids = list(dataset.ids or [])
    if dataset.ids_file is not None:
        for line in _open_text(Path(dataset.ids_file)).splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                ids.append(line.strip())
    return list(dict.fromkeys(ids))


def select_rows(problems: list[Problem], dataset: DatasetConfig) -> list[Problem]:
    """Apply `ids` / `ids_file` (keeping dataset order) and then `limit` (the first N)."""
    selected = problems
    ids = wanted_ids(dataset)
    if ids is not None:
        wanted = set(ids)
        known = {problem.id for problem in problems}
        unknown = [problem_id for problem_id in ids if problem_id not in known]
        if unknown:
            shown = ", ".join(repr(problem_id) for problem_id in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            field = "dataset.ids" if dataset.ids_file is None else "dataset.ids / dataset.ids_file"
            raise DatasetError(f"{field}: {len(unknown)} unknown problem id(s): {shown}{more}")
        selected = [problem for problem in problems if problem.id in wanted]
    if dataset.limit is not None:
        selected = selected[: dataset.limit]
    return selected


def load_problems(dataset: DatasetConfig, make_problem: Callable[[SourceRow], Problem]) -> list[Problem]:
    """Every row made a Problem, ids checked unique over the whole file, then `ids`/`limit` applied."""
    rows = read_source_rows(dataset)
    problems = [make_problem(row) for row in rows]
    check_unique_ids(problems, rows[0].source if rows else "dataset")
    return select_rows(problems, dataset)
