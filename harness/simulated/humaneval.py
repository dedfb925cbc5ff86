"""Simulated HumanEval outputs: the canonical solution as a completion or a fenced function, or a broken variant."""

from __future__ import annotations

import random

from harness.records import Problem
from harness.simulated.answers import stable_seed
from harness.simulated.code import OutputsByProblem, SimulatedOutputs, build_outputs, noisy
from harness.simulated.mutants import pick_mutants, python_mutants

NO_CODE_OUTPUTS = (
    "I'm sorry, I can't complete this function.",
    "The function should be implemented as described in the docstring.",
    "Let me think about the edge cases first.",
)


class HumanEvalOutputs(OutputsByProblem):
    def __init__(self) -> None:
        super().__init__(simulated_outputs)


def simulated_outputs(problem: Problem) -> SimulatedOutputs:
    prompt = problem.data["prompt"]
    solution = problem.data.get("canonical_solution") or ""
    reference = prompt + solution
    seed = stable_seed("humaneval", problem.id)
    mutants = pick_mutants(python_mutants(reference, prompt.count("\n") + 1, seed), seed)

    def frame(program: str, rng: random.Random) -> str:
        if rng.random() < 0.3:  # chat style: the whole function, fenced
            return f"Here is the completed function:\n\n```python\n{program.rstrip()}\n```\n"
        body = noisy(program[len(prompt):], rng)
        return body + "\n\n\nif __name__ == '__main__':\n    print('done')\n" if rng.random() < 0.2 else body

    correct = [reference] if solution.strip() else []
    return build_outputs("humaneval", problem.id, correct, [m.source for m in mutants], frame, NO_CODE_OUTPUTS)
