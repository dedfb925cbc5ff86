"""Reproduction tests written by a model: each should fail on the base commit and pass once the
issue is fixed. Tests are triaged on the base commit (see `containers`), the survivors run against
one candidate of each vote class in warm containers, and candidates are ranked by tests passed:
the filter keeps the best-ranked.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from harness.selection.containers import GeneratedTest, MatrixResult, WarmMatrix
from harness.selection.records import Pool, PublicInstance, SelectionCost, StepRecord
from harness.selection.selectors import representative, voting_classes

_FENCE = re.compile(r"```(?:python)?\n(.*?)```", re.DOTALL)
WRITER_PROMPT = """You are writing a test that reproduces this issue in the repository {repo}.
The test must FAIL on the current code and PASS once the issue is fixed. Write one pytest file
in a ```python block, importing the package as installed; no network, no file changes.

<issue>
{issue}
</issue>
"""


@runtime_checkable
class TestWriter(Protocol):
    simulated: bool

    def write_tests(self, instance: PublicInstance, n: int) -> tuple[list[GeneratedTest], SelectionCost]: ...


Complete = Callable[[str, int], tuple[str, int, int]]  # (prompt, seed) -> (text, prompt tokens, completion tokens)


class ModelTestWriter:
    """n completions of the writer prompt, one test file from each (a completion without one is dropped)."""

    simulated = False

    def __init__(self, complete: Complete) -> None:
        self.complete = complete

    def write_tests(self, instance: PublicInstance, n: int) -> tuple[list[GeneratedTest], SelectionCost]:
        prompt = WRITER_PROMPT.format(repo=instance.repo, issue=instance.problem_statement)
        tests, cost = [], SelectionCost()
        for seed in range(n):
            text, p_tok, c_tok = self.complete(prompt, seed)
            cost = cost.add(SelectionCost(prompt_tokens=p_tok, completion_tokens=c_tok))
            found = _FENCE.search(text)
            if found:
                tests.append(GeneratedTest(name=f"repro_{seed}", source=found.group(1)))
        return tests, cost


class SimulatedTestWriter:
    """THE SIMULATED MODEL as test writer (demo and tests only): it draws, seeded, from tests given
    to it per instance (scripted, good and bad alike) and charges tokens by 4 characters a token.
    It knows nothing of the issue; its tests are whatever the script holds."""

    simulated = True

    def __init__(self, scripted: dict[str, Sequence[GeneratedTest]], seed: int = 0) -> None:
        self.scripted = scripted
        self.seed = seed

    def write_tests(self, instance: PublicInstance, n: int) -> tuple[list[GeneratedTest], SelectionCost]:
        pool = list(self.scripted.get(instance.instance_id, ()))
        rng = random.Random(f"{self.seed}:{instance.instance_id}")
        tests = rng.sample(pool, min(n, len(pool)))
        chars = sum(len(t.source) for t in tests)
        return tests, SelectionCost(prompt_tokens=len(instance.problem_statement) // 4 * len(tests),
                                    completion_tokens=chars // 4)


class ReproductionRank:
    name = "reproduction_rank"

    def __init__(self, writer: TestWriter, tests_per_instance: int = 5,
                 matrix: Callable[[str], WarmMatrix] | None = None) -> None:
        self.writer = writer
        self.n = tests_per_instance
        self.matrix = matrix or (lambda image: WarmMatrix(image))
        self.last: MatrixResult | None = None  # evidence of the latest pool (discarded tests, outcomes)

    def apply(self, pool: Pool, alive: list[int]) -> tuple[StepRecord, SelectionCost]:
        record = StepRecord(step=self.name, kept=list(alive))
        tests, cost = self.writer.write_tests(pool.instance, self.n)
        if self.writer.simulated:
            record.notes.append("tests written by the simulated model")
        if not pool.instance.image or not tests:
            record.notes.append("no image or no test: all kept")
            return record, cost
        runner = self.matrix(pool.instance.image)
        kept_tests, triage = runner.triage(tests)
        for bad in triage.discarded:
            record.notes.append(f"test {bad.test} discarded: {bad.reason}")
            record.evidence.append({"test": bad.test, "discarded": bad.reason, "output": bad.evidence})
        reps = {representative(pool, members): members for members in voting_classes(pool, alive).values()}
        by_index = {c.index: c.patch for c in pool.candidates}
        result = runner.matrix({rep: by_index[rep] for rep in reps}, kept_tests)
        result.discarded = triage.discarded
        self.last = result
        cost = cost.add(SelectionCost(test_executions=triage.executions + result.executions,
                                      container_s=triage.container_s + result.container_s))
        if not kept_tests:
            record.notes.append("no test fails on the base commit: all kept")
            return record, cost
        record.evidence += [{"test": o.test, "candidate": str(o.candidate), "failed": o.evidence}
                            for o in result.outcomes if not o.passed and o.evidence]
        for rep, members in reps.items():
            passed = sum(result.passed(t.name, rep) for t in kept_tests)
            for index in members:
                record.scores[index] = float(passed)
        best = max(record.scores.values(), default=0.0)
        record.kept = [i for i in alive if record.scores.get(i) == best]
        record.notes.append(f"{len(kept_tests)} tests kept; best candidates pass {best:.0f}")
        return record, cost
