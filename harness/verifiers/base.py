"""The seam between candidates and whatever judges them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.records import Candidate, Problem, Verdict


@runtime_checkable
class Verifier(Protocol):
    """Judges one candidate. Must be picklable: executors call it in worker processes.

    `version` is part of the verdict cache key: bump it when judging changes, and stored
    verdicts of the old version are no longer reused.
    """

    name: str
    version: str

    def verify(self, problem: Problem, candidate: Candidate) -> Verdict: ...


@runtime_checkable
class BatchVerifier(Verifier, Protocol):
    """A verifier that schedules its own parallelism (a sandbox pool, Docker containers).

    The executor hands it every pending candidate at once, in the driver process, instead of
    calling `verify` in worker processes. Verdicts come back in input order.
    """

    def verify_many(self, items: Sequence[tuple[Problem, Candidate]]) -> Iterator[Verdict]: ...


@runtime_checkable
class NeedsIsolation(Protocol):
    """A verifier that runs untrusted code on this machine: `check_isolation` raises
    SandboxUnavailable (saying what to install) when it cannot be isolated here, so a run
    stops before it writes anything (fail closed; docs/architecture.md, threat model)."""

    def check_isolation(self) -> None: ...


@dataclass(frozen=True)
class RayPlacement:
    """Where the Ray executor runs a verifier's tasks; a verifier may offer one as `ray_placement`.

    `resources` are Ray custom resources per task; the name "docker" stands for the executor's
    `docker_resource`. `cpus` is what one task uses (a verifier with its own process pool
    reserves its pool's width). `per_problem`: a task holds one problem's candidates only, so
    one warm container (and one flake check) serves a SWE-bench instance.
    """

    resources: dict[str, float] = field(default_factory=dict)
    cpus: float = 1.0
    per_problem: bool = False


@runtime_checkable
class PlacedOnRay(Protocol):
    """A verifier that says where its Ray tasks run (the default: one CPU, anywhere)."""

    @property
    def ray_placement(self) -> RayPlacement: ...


@runtime_checkable
class KeepsRunFiles(Protocol):
    """A verifier that writes files per verdict (SWE-bench test logs): into the run directory it is bound to."""

    def bind_run_dir(self, run_dir: Path) -> None: ...


@runtime_checkable
class HasLogsDir(Protocol):
    """Where a file-keeping verifier writes. Checked only once bound: before that, reading it may make a
    temporary directory (isinstance reads the attribute)."""

    @property
    def logs_dir(self) -> Path: ...


@runtime_checkable
class ShipsFiles(Protocol):
    """A verifier whose files, made on another Ray node, travel back with the verdicts to the driver."""

    def export_files(self, problem_ids: Iterable[str]) -> dict[str, Any]: ...

    def import_files(self, shipped: dict[str, Any]) -> None: ...


@runtime_checkable
class HasVerdictFields(Protocol):
    """A verifier with fields of its own on each verdicts.jsonl line (swebench: instance_id, resolved, test_log)."""

    def verdict_fields(self, problem_id: str, passed: bool, verdict: Verdict | None) -> dict[str, Any]: ...


@runtime_checkable
class GradesFlaky(Protocol):
    """A verifier that detects flaky tests: per verdict (passed with flaky tests set aside, instance has flaky tests)."""

    def flaky_grading(self, verdict: Verdict | None) -> tuple[bool, bool]: ...


@runtime_checkable
class Closeable(Protocol):
    """A verifier holding resources (a sandbox pool) that are released by `close`."""

    def close(self) -> None: ...


@runtime_checkable
class WarmBetweenCalls(Protocol):
    """A batch verifier whose costly state (warm containers) can outlive one `verify_many` call: while
    candidates stream in, many small calls then share it instead of each starting its own. Within, a
    per-problem verifier's calls also share each problem's per-problem work (a flake check), done once
    whichever call comes first, so calls of one problem may run at once from the start."""

    def warm_between_calls(self) -> AbstractContextManager[None]: ...
