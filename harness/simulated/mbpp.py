"""Simulated MBPP outputs: the reference code, fenced or ending in [DONE], or a broken variant."""

from __future__ import annotations

import random

from harness.problems.mbpp import DONE, mbpp_spec
from harness.records import Problem
from harness.simulated.answers import stable_seed
from harness.simulated.code import OutputsByProblem, SimulatedOutputs, build_outputs, noisy
from harness.simulated.mutants import pick_mutants, python_mutants

NO_CODE_OUTPUTS = (
    "I am not sure what the function should return for an empty input.",
    "This can be solved with a simple loop over the input.",
)


class MBPPOutputs(OutputsByProblem):
    def __init__(self) -> None:
        super().__init__(simulated_outputs)


def _frame(program: str, rng: random.Random) -> str:
    program = noisy(program, rng)
    if rng.random() < 0.5:
        return f"```python\n{program.rstrip()}\n```"
    return f"{program.rstrip()}\n{DONE}"


def simulated_outputs(problem: Problem) -> SimulatedOutputs:
    reference = mbpp_spec(problem.data).reference
    seed = stable_seed("mbpp", problem.id)
    mutants = pick_mutants(python_mutants(reference, 1, seed), seed) if reference else []
    correct = [reference] if reference.strip() else []
    return build_outputs("mbpp", problem.id, correct, [m.source for m in mutants], _frame, NO_CODE_OUTPUTS)
