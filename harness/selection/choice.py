"""Model choice among the top k: the issue, the k best-ranked distinct diffs and their test
results go into one prompt; the model answers with the number of its pick."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from harness.selection.records import Pool, SelectionCost, StepRecord
from harness.selection.selectors import representative, voting_classes

CHOICE_PROMPT = """An issue in {repo} and {k} candidate patches. Pick the one that fixes the issue.
Answer with `CHOICE: <number>`.

<issue>
{issue}
</issue>
{options}"""


@runtime_checkable
class Chooser(Protocol):
    simulated: bool

    def choose(self, prompt: str, options: Sequence[int], ranks: dict[int, float]) -> tuple[int | None, SelectionCost]: ...


class ModelChooser:
    simulated = False

    def __init__(self, complete) -> None:  # (prompt, seed) -> (text, prompt tokens, completion tokens)
        self.complete = complete

    def choose(self, prompt: str, options: Sequence[int], ranks: dict[int, float]) -> tuple[int | None, SelectionCost]:
        text, p_tok, c_tok = self.complete(prompt, 0)
        found = re.search(r"CHOICE:\s*(\d+)", text)
        number = int(found.group(1)) if found else None
        pick = options[number - 1] if number is not None and 1 <= number <= len(options) else None
        return pick, SelectionCost(prompt_tokens=p_tok, completion_tokens=c_tok)


class SimulatedChooser:
    """THE SIMULATED MODEL as chooser (demo and tests only): it reads no diff; it takes the option
    with the best rank the prompt shows, ties at random (seeded). Tokens: 4 characters a token."""

    simulated = True

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def choose(self, prompt: str, options: Sequence[int], ranks: dict[int, float]) -> tuple[int | None, SelectionCost]:
        best = max(ranks.get(o, 0.0) for o in options)
        tied = [o for o in options if ranks.get(o, 0.0) == best]
        pick = random.Random(f"{self.seed}:{prompt[:200]}").choice(tied)
        return pick, SelectionCost(prompt_tokens=len(prompt) // 4, completion_tokens=4)


class ModelChoice:
    name = "model_choice"

    def __init__(self, chooser: Chooser, top_k: int = 3) -> None:
        self.chooser = chooser
        self.top_k = top_k
        self.earlier: list[StepRecord] = []

    def see(self, records: list[StepRecord]) -> None:
        self.earlier = list(records)

    def apply(self, pool: Pool, alive: list[int]) -> tuple[StepRecord, SelectionCost]:
        classes = [(representative(pool, m), m) for m in voting_classes(pool, alive).values()]
        tests = {i: s for r in self.earlier if r.step == "reproduction_rank" for i, s in r.scores.items()}
        # rank: tests passed, then votes, then attempt order
        ranked = sorted(classes, key=lambda rm: (-tests.get(rm[0], 0.0), -len(rm[1]), rm[1][0]))[: self.top_k]
        options = [rep for rep, _ in ranked]
        if not options:
            return StepRecord(step=self.name, kept=[]), SelectionCost()
        patches = {c.index: c.patch for c in pool.candidates}
        blocks = [f"\n## Candidate {n}\nvotes: {len(m)}; reproduction tests passed: "
                  f"{tests.get(rep, 'not run')}\n```diff\n{patches[rep]}\n```\n" for n, (rep, m) in enumerate(ranked, 1)]
        prompt = CHOICE_PROMPT.format(repo=pool.instance.repo, k=len(options), issue=pool.instance.problem_statement,
                                      options="".join(blocks))
        ranks = {rep: tests.get(rep, 0.0) * 1000 + len(m) for rep, m in ranked}
        pick, cost = self.chooser.choose(prompt, options, ranks)
        notes = [f"top {len(options)} shown: {options}"]
        if self.chooser.simulated:
            notes.append("chosen by the simulated model")
        if pick is None:
            pick = options[0]
            notes.append("no valid answer: the top-ranked candidate")
        return StepRecord(step=self.name, kept=[pick], notes=notes), cost
