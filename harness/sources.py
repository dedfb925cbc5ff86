"""The seam between the sampler and the other sources of attempts (the repair agent), found by name.

The sampler plans the units (problem, attempt index, seed), and buffers and stores what comes back;
a source only turns units into attempts with their candidates. harness reaches a source through
harness.registry by name, so it never imports the package that implements one (agents/).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.records import Attempt, Candidate, Problem

if TYPE_CHECKING:
    from harness.config import RunConfig, SamplingConfig
    from harness.models.base import ModelBackend
    from harness.problems.base import Task


@dataclass(frozen=True)
class AttemptUnit:
    """One unit of work handed to an attempt source: attempt `index` of a problem, seeded `seed`."""

    problem: Problem
    index: int
    seed: int


class AttemptSource(Protocol):
    """Makes attempts from units (the agent: one trajectory per unit)."""

    def attempts(self, units: Iterable[AttemptUnit]) -> AsyncIterator[tuple[list[Attempt], list[Candidate]]]:
        """Attempts with their candidates, as they end (any order)."""
        ...

    async def aclose(self) -> None: ...


class AttemptSourceKind(Protocol):
    """What the registry finds by name: checks a config, builds the source (and the simulated model that plays it)."""

    def check(self, config: RunConfig) -> None:
        """ConfigError when the configured model cannot play this source the configured way."""
        ...

    def simulated_backend(self, config: RunConfig, task: Task, problems: list[Problem]) -> ModelBackend:
        """The simulated model playing this source (model.backend: simulated)."""
        ...

    def open(self, config: RunConfig, task: Task, backend: ModelBackend, run_dir: Path,
             sampling: SamplingConfig) -> AttemptSource: ...
