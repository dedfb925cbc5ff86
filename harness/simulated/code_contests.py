"""Simulated CodeContests outputs: a Python reference (or a table look-up where the row has none), or a broken variant."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import zlib

from harness.problems.code_common import parses_as_python
from harness.problems.contest_specs import TestCase, contest_spec
from harness.records import Problem
from harness.simulated.answers import stable_seed
from harness.simulated.code import OutputsByProblem, SimulatedOutputs, build_outputs, noisy
from harness.simulated.mutants import pick_mutants, python_mutants

NO_CODE_OUTPUTS = (
    "This problem needs a careful case analysis; let me think about the constraints first.",
    "I could not find an efficient approach for these limits.",
)


class CodeContestsOutputs(OutputsByProblem):
    def __init__(self) -> None:
        super().__init__(simulated_outputs)


_GENERIC_WRONG = (
    "print(0)\n",
    "import sys\nprint(sys.stdin.read().split()[0])\n",
    "n = int(input())\nprint(n)\n",
    "print('NO')\n",
    "import sys\ndata = sys.stdin.read().split()\nprint(len(data))\n",
    "print(-1)\n",
)


def lookup_program(tests: tuple[TestCase, ...]) -> str:
    """A program that answers every test of the problem from a table: the simulated model's
    correct answer where the row has no reference solution (the Large Language Monkeys files)."""
    table = {hashlib.sha256(t.input.encode()).hexdigest()[:16]: t.output for t in tests}
    blob = base64.b85encode(zlib.compress(json.dumps(table).encode(), 9)).decode()
    return (
        "import base64, hashlib, json, sys, zlib\n"
        f"TABLE = json.loads(zlib.decompress(base64.b85decode({blob!r})))\n"
        "key = hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16]\n"
        "sys.stdout.write(TABLE.get(key, ''))\n"
    )


def _frame(program: str, rng: random.Random) -> str:
    program = noisy(program, rng)
    roll = rng.random()
    if roll < 0.4:  # the few-shot completion style: code right after the fence, then the next "Q:"
        return f" ```{program.strip()}```\nQ:"
    if roll < 0.8:
        return f"```python\n{program.rstrip()}\n```"
    return f"Here is a solution.\n\n```python3\n{program.rstrip()}\n```\nIt reads the input once."


def simulated_outputs(problem: Problem) -> SimulatedOutputs:
    """Python references (or a table look-up) when correct; their broken variants when wrong."""
    spec = contest_spec(problem.data)
    seed = stable_seed("code_contests", problem.id)
    references = [code for code in spec.solutions.get("python", ()) if parses_as_python(code)]
    if not references:
        wrong = list(_GENERIC_WRONG)
        return build_outputs("code_contests", problem.id, [lookup_program(spec.tests)], wrong, _frame, NO_CODE_OUTPUTS)
    mutants = pick_mutants(python_mutants(references[0], 1, seed), seed)
    return build_outputs("code_contests", problem.id, references[:1], [m.source for m in mutants], _frame, NO_CODE_OUTPUTS)
