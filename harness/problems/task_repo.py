"""A swebench 5 task repo as dataset rows, read with swebench's own reader.

A task repo is a directory: `sweb.yaml` and `tasks/<instance_id>/{task.yaml, tests.json,
problem_statement.md, gold.patch, test.patch, eval.sh, Dockerfile}` (`swebench.task.repo`).
Each task directory is read on its own with `swebench.task.repo.load_task`, so one broken
directory (a missing file, bad YAML or JSON) is reported by instance and what is wrong, and the
other instances are read all the same. A folder under tasks/ without task.yaml is reported too
(swebench's own listing passes over it silently).

Which tasks: those whose `split` is the dataset's split (default `test`), as swebench publishes
only its splits; instances named by id are taken from any split, as `swebench` does for ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.problems.base import DatasetError
from harness.problems.datasets import SourceRow

# What load_task reads besides task.yaml (hints.md is optional); the Dockerfile is what images build from.
REQUIRED_FILES = ("task.yaml", "tests.json", "problem_statement.md", "gold.patch", "test.patch", "eval.sh")


@dataclass
class TaskRepoRows:
    """The readable tasks as rows, and per unreadable instance what is wrong with it."""

    root: Path
    rows: list[SourceRow] = field(default_factory=list)
    bad: dict[str, str] = field(default_factory=dict)  # instance id -> message naming what is wrong


def task_label(root: Path, instance_id: str) -> str:
    return f"task repo {root}, instance {instance_id}"


def _read_one(task_dir: Path) -> dict:
    """swebench's reader on one directory; any failure becomes a DatasetError naming the file."""
    from swebench.task.repo import load_task  # noqa: PLC0415 - swebench only when a task repo is read

    missing = [name for name in REQUIRED_FILES if not (task_dir / name).is_file()]
    if missing:
        raise DatasetError(f"missing {', '.join(missing)} in {task_dir}")
    try:
        data = load_task(task_dir)
    except yaml.YAMLError as exc:
        raise DatasetError(f"{task_dir / 'task.yaml'}: not valid YAML ({exc})") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{task_dir / 'tests.json'}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except (OSError, UnicodeDecodeError, TypeError, AttributeError, ValueError) as exc:
        raise DatasetError(f"{task_dir}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{task_dir / 'task.yaml'}: expected a mapping of fields")
    named = data.get("instance_id")
    if named != task_dir.name:
        raise DatasetError(f"{task_dir / 'task.yaml'}: instance_id {named!r} differs from its directory name")
    return data


def read_task_repo(root: Path, split: str | None = "test", ids: list[str] | None = None) -> TaskRepoRows:
    """Rows of every task in `root`'s split (or of the instances in `ids`, from any split)."""
    tasks = root / "tasks"
    if not tasks.is_dir():
        raise DatasetError(f"{root}: a dataset directory must be a swebench 5 task repo, with a tasks/ folder "
                           "(tasks/<instance_id>/task.yaml, ...); this one has none")
    found = TaskRepoRows(root)
    wanted = None if ids is None else set(ids)
    for task_dir in sorted(p for p in tasks.iterdir() if p.is_dir()):
        instance_id = task_dir.name
        if wanted is not None and instance_id not in wanted:
            continue
        try:
            data = _read_one(task_dir)
        except DatasetError as exc:
            found.bad[instance_id] = f"{task_label(root, instance_id)}: {exc}"
            continue
        if wanted is None and split is not None and data.get("split", split) != split:
            continue
        index = len(found.rows)
        found.rows.append(SourceRow(str(task_dir), 1, index, data, label=task_label(root, instance_id)))
    if wanted is not None:
        unknown = sorted(wanted - {row.data["instance_id"] for row in found.rows} - set(found.bad))
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise DatasetError(f"{tasks}: no task directory for {len(unknown)} instance id(s): {shown}")
    return found
