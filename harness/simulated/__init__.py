"""What the simulated model writes, one module per task kind, found by the task's name.

A task is load, prompt, extract, verifier; the seeded stand-in for a model
(harness.models.simulated) asks `output_maker(task)` for the maker of its outputs. A maker
is a pure function of (problem, correct, rng) (it may keep per-problem tables), so a
resumed run reproduces an uninterrupted one exactly. A task outside the table (a test
double) may write its own outputs: `PlaysItself`.
"""

from __future__ import annotations

import importlib
import random
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from harness.records import Problem

if TYPE_CHECKING:
    from harness.problems.base import Task

# Task name -> the class of its output maker (imported when asked for: code mutants parse and build tables).
MAKERS: dict[str, str] = {
    "gsm8k": "harness.simulated.gsm8k:GSM8KOutputs",
    "math": "harness.simulated.math:MathOutputs",
    "humaneval": "harness.simulated.humaneval:HumanEvalOutputs",
    "mbpp": "harness.simulated.mbpp:MBPPOutputs",
    "code_contests": "harness.simulated.code_contests:CodeContestsOutputs",
    "swebench": "harness.simulated.swebench:SWEBenchOutputs",
}


@runtime_checkable
class OutputMaker(Protocol):
    def __call__(self, problem: Problem, correct: bool, rng: random.Random) -> str:
        """A plausible model output for the problem, right or wrong as asked."""
        ...


@runtime_checkable
class PlaysItself(Protocol):
    """A task not in MAKERS (a test double) that writes its own simulated outputs."""

    def simulate_output(self, problem: Problem, correct: bool, rng: random.Random) -> str: ...


def output_maker(task: Task) -> OutputMaker | None:
    """The maker of the task's simulated outputs (a new one: it keeps per-problem tables); None when
    the simulated model cannot play the task."""
    target = MAKERS.get(task.name)
    if target is not None:
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)()
    if isinstance(task, PlaysItself):
        return task.simulate_output
    return None
