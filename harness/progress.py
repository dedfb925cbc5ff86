"""Progress for long work: a live bar on a terminal, a line every few seconds elsewhere (CI, logs)."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

LOG_EVERY_S = 5.0


class _Display:
    """What both displays share: a rich display while live, else a line at most every LOG_EVERY_S."""

    enabled: bool
    _rich: Progress | None = None
    _last_log = 0.0

    def _line(self) -> str:
        raise NotImplementedError

    def _log(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_log >= LOG_EVERY_S:
            print(self._line(), file=sys.stderr, flush=True)
            self._last_log = now

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._rich is not None:
            self._rich.stop()
        elif self.enabled:
            self._log(force=True)


class ProgressBar(_Display):
    def __init__(self, description: str, total: int, enabled: bool = True) -> None:
        self.description, self.total, self.enabled = description, total, enabled
        self.done = 0
        self._live = enabled and sys.stderr.isatty()
        self._last_log = 0.0
        self._rich = None

    def __enter__(self) -> ProgressBar:
        if self._live:
            self._rich = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
            self._rich.start()
            self._task = self._rich.add_task(self.description, total=self.total)
        elif self.enabled:
            self._log(force=True)
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._rich is not None:
            self._rich.update(self._task, completed=self.done)
        elif self.enabled:
            self._log()

    def _line(self) -> str:
        return f"{self.description}: {self.done}/{self.total}"


class StageBars(_Display):
    """Sampling and verification at once: two bars on a terminal, one line for both elsewhere.

    The verifying total grows as sampling stores new candidates.
    """

    def __init__(self, sampling_total: int, enabled: bool = True) -> None:
        self.enabled = enabled
        self.counts = {"sampling": [0, sampling_total], "verifying": [0, 0]}
        self._live = enabled and sys.stderr.isatty()
        self._last_log = 0.0
        self._rich = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> StageBars:
        if self._live:
            self._rich = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), transient=False)
            self._rich.start()
            self._tasks = {stage: self._rich.add_task(stage, total=total) for stage, (_, total) in self.counts.items()}
        elif self.enabled:
            self._log(force=True)
        return self

    def sampled(self, n: int = 1) -> None:
        self._move("sampling", n, 0)

    def queued(self, n: int) -> None:
        """`n` more candidates to verify."""
        self._move("verifying", 0, n)

    def verified(self, n: int) -> None:
        self._move("verifying", n, 0)

    def _move(self, stage: str, done: int, total: int) -> None:
        counts = self.counts[stage]
        counts[0] += done
        counts[1] += total
        if self._rich is not None:
            self._rich.update(self._tasks[stage], completed=counts[0], total=counts[1])
        elif self.enabled:
            self._log()

    def _line(self) -> str:
        return ", ".join(f"{stage}: {done}/{total}" for stage, (done, total) in self.counts.items())
