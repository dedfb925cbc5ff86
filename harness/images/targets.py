"""Which images a dataset needs, what happened to each, and the record and table of a command.

A target is one instance: the image its rows name (`image`, swebench 5's field) and, for a task
repo, its task directory (the Dockerfile's build context, as in swebench 5). Every command
(`build`, `pull`, `check`) yields one Outcome per target; none stops the others.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pydantic import BaseModel

from harness.config import DatasetConfig
from harness.problems.swebench import SWEBenchTask


@dataclass(frozen=True)
class ImageTarget:
    instance_id: str
    image: str
    context: Path | None = None  # the task directory of a task repo; None for rows from a file or the hub
    base_commit: str | None = None
    eval_script: str | None = None
    log_parser: str | None = None
    tests: tuple[str, ...] = ()  # FAIL_TO_PASS + PASS_TO_PASS


class Status(str, Enum):
    BUILT = "built"
    PULLED = "pulled"
    PRESENT = "present"  # there already (build/pull), or checked and fine (check)
    MISSING = "missing"
    FAILED = "failed"  # the instance's image could not be made or is broken: `message` says why
    SKIPPED = "skipped"  # the dataset's task for it is unreadable


BAD = {Status.MISSING, Status.FAILED, Status.SKIPPED}


class Outcome(BaseModel):
    instance_id: str
    image: str
    status: Status
    seconds: float = 0.0
    size_bytes: int | None = None  # all layers of the image
    added_bytes: int | None = None  # layers no other image on the engine uses
    message: str = ""
    log: str | None = None  # the build / pull / eval log file


@dataclass
class Targets:
    targets: list[ImageTarget]
    skipped: dict[str, str]  # instance id -> why its task could not be read


def dataset_config(path: Path | None, hub: str | None, split: str, instances: list[str]) -> DatasetConfig:
    return DatasetConfig(path=path, hub=hub, split=split, ids=instances or None)


def load_targets(dataset: DatasetConfig) -> Targets:
    """The dataset's instances (swebench rows) as targets; DatasetError when the dataset itself is unusable."""
    task = SWEBenchTask()
    problems = task.load(dataset)
    root = Path(dataset.path) if dataset.path is not None and Path(dataset.path).is_dir() else None
    targets = [ImageTarget(
        instance_id=p.id, image=str(p.data["image"]),
        context=(root / "tasks" / p.id) if root is not None else None,
        base_commit=p.data.get("base_commit"), eval_script=p.data.get("eval_script"),
        log_parser=p.data.get("log_parser"),
        tests=tuple(p.data.get("FAIL_TO_PASS", [])) + tuple(p.data.get("PASS_TO_PASS", [])),
    ) for p in problems]
    return Targets(targets, task.skipped_instances())


def dataset_arguments(dataset: DatasetConfig) -> str:
    """The `--dataset` / `--hub` arguments that name `dataset` on a command line."""
    if dataset.path is not None:
        return f"--dataset {shlex.quote(str(Path(dataset.path).resolve()))}"
    split = f" --split {shlex.quote(dataset.split)}" if dataset.split != "test" else ""
    return f"--hub {shlex.quote(str(dataset.hub))}{split}"


def make_command(dataset: DatasetConfig, instance_ids: list[str]) -> str:
    """The exact command that makes these instances' images: a build for a task repo, else a pull."""
    action = "build" if dataset.path is not None and Path(dataset.path).is_dir() else "pull"
    return f"monkeys images {action} {dataset_arguments(dataset)} --instances {','.join(instance_ids)}"


def skipped_outcomes(skipped: dict[str, str]) -> list[Outcome]:
    return [Outcome(instance_id=iid, image="?", status=Status.SKIPPED, message=why) for iid, why in skipped.items()]


def write_record(outcomes: list[Outcome], out_dir: Path, action: str, argv: list[str]) -> Path:
    """OUT/<action>.json: when, the command, and every instance's outcome."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{action}.json"
    record = {"action": action, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "argv": argv,
              "counts": {s.value: sum(o.status is s for o in outcomes) for s in Status if any(o.status is s for o in outcomes)},
              "outcomes": [o.model_dump(mode="json") for o in outcomes]}
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def summary_table(outcomes: list[Outcome]) -> str:
    """A plain-text table, one row per instance, and the totals."""
    rows = [("instance", "status", "seconds", "size", "added", "what")]
    for o in outcomes:
        rows.append((o.instance_id, o.status.value, f"{o.seconds:.1f}", _size(o.size_bytes), _size(o.added_bytes),
                     o.message.splitlines()[0][:120] if o.message else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts = ", ".join(f"{sum(o.status is s for o in outcomes)} {s.value}" for s in Status if any(o.status is s for o in outcomes))
    added = sum(o.added_bytes or 0 for o in outcomes)
    lines.append(f"{len(outcomes)} instance(s): {counts or 'none'}; added over their base images: {_size(added)}")
    return "\n".join(lines)
