"""The seam between a run and where its work runs: this process and its workers, or a Ray cluster.

An executor does two things for the pipeline. It provides the model backend sampling goes
through (the local one builds it here; Ray puts replicas on the cluster behind the same
`ModelBackend` interface), and it verifies candidates. Either way results come back to the
driver, which alone writes the run store, so the store stays the single source of truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from harness.records import Candidate, Problem, Verdict

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.models.base import ModelBackend
    from harness.problems.base import Task
    from harness.verifiers.base import Verifier


class ExecutorFailure(RuntimeError):
    """Work was lost for good (a worker died more often than retries allow); a rerun resumes it."""


class Executor(Protocol):
    name: str

    def model_backend(self, config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
        """The backend sampling goes through. Raises BackendUnavailable / ConfigError before anything is written."""
        ...

    def check(self, verifier: Verifier) -> None:
        """Raise ConfigError when this executor could never run the verifier (no node has what it needs)."""
        ...

    def verify_all(self, verifier: Verifier, problems: dict[str, Problem],
                   candidates: list[Candidate]) -> Iterator[tuple[Candidate, Verdict]]:
        """Every candidate with its verdict, in completion order. Candidates whose work was lost are
        not yielded (they stay unverified): ExecutorFailure is raised after the others."""
        ...

    def verify_stream(self, verifier: Verifier, problems: dict[str, Problem],
                      feed: Iterator[list[Candidate]]) -> Iterator[tuple[Candidate, Verdict]]:
        """As verify_all, for candidates that arrive while sampling goes on: each `next(feed)` is the
        candidates stored since the last (empty after a short wait when none were); it ends once
        sampling has ended and every candidate was handed over."""
        ...

    def close(self) -> None: ...

