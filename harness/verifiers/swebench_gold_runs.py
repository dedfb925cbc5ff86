"""The gold runs of an instance's flake check, shared by the instance's containers.

Each container that reaches the flake check takes the next gold run not yet taken, runs it, and
takes another, until none is left; then it waits for the runs the others still hold. So with two
containers five gold runs take the time of three, not five. A run whose container broke goes back
to the queue for whichever container is free next; its candidate gets an ERROR, as before.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WAIT_S = 1.0  # how often a waiting container looks whether the batch was stopped


@dataclass(frozen=True)
class GoldRun:
    """One run of the gold patch: swebench's status map of its log (None: nothing gradable), resolved, log path."""

    status_map: dict[str, str] | None
    resolved: bool
    log: str


class GoldRuns:
    """The queue of one instance's gold runs and their results, in run order."""

    def __init__(self, runs: int) -> None:
        self.runs = runs
        self.pending: deque[int] = deque(range(runs))
        self.results: dict[int, GoldRun] = {}
        self.changed = threading.Condition()

    def work(self, run_one: Callable[[int], GoldRun], stopped: threading.Event) -> list[GoldRun]:
        """Runs pending gold runs until none is left, waits for the rest; every result, in run order.
        Raises what `run_one` raised (its run goes back to the queue), or RuntimeError once `stopped` is set."""
        while True:
            with self.changed:
                if len(self.results) == self.runs:
                    return [self.results[run] for run in range(self.runs)]
                if stopped.is_set():
                    raise RuntimeError("verification was stopped")
                if not self.pending:
                    self.changed.wait(WAIT_S)
                    continue
                run = self.pending.popleft()
            try:
                result = run_one(run)
            except BaseException:
                with self.changed:
                    self.pending.appendleft(run)
                    self.changed.notify_all()
                raise
            with self.changed:
                self.results[run] = result
                self.changed.notify_all()
