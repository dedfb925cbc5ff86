"""A seeded stand-in for a model, for the demo and for tests. It is not a model.

Each problem gets a fixed success probability drawn from Beta(alpha, beta): most mass is
low with a long tail, which is what makes real coverage curves rise slowly over many
samples. Outputs, right and wrong, come from the task's maker in harness.simulated, which
repeats plausible wrong answers the way real models do. Everything is a pure function of
(problem id, attempt seed), so a resumed run reproduces an uninterrupted one exactly.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from harness.models.base import BackendUnavailable
from harness.records import Completion, GenerationRequest, GenerationResult, Problem
from harness.simulated import output_maker

if TYPE_CHECKING:
    from harness.config import RunConfig, SimulatedModelConfig
    from harness.problems.base import Task


GARBAGE = ("", "I'm not sure how to solve this.", "\u00bf\u00bf\u00bf ### ??? ]]}", "Let me think step by step. " * 5)


class SimulatedBackend:
    name = "simulated"
    simulated = True

    def __init__(self, config: SimulatedModelConfig, task: Task, problems: list[Problem]) -> None:
        make_output = output_maker(task)
        if make_output is None:
            raise BackendUnavailable(f"the simulated model cannot play task {task.name!r} "
                                     "(harness.simulated has no output maker for it)")
        self.config, self.make_output = config, make_output
        self.problems = {p.id: p for p in problems}
        self._p_success = {p.id: self.success_probability(p.id) for p in problems}

    @classmethod
    def from_config(cls, run_config: RunConfig, task: Task, problems: list[Problem]) -> SimulatedBackend:
        return cls(run_config.model, task, problems)  # type: ignore[arg-type]

    def success_probability(self, problem_id: str) -> float:
        return random.Random(f"difficulty:{problem_id}").betavariate(self.config.alpha, self.config.beta)

    def complete(self, problem_id: str, seed: int, prompt_len: int) -> Completion:
        rng = random.Random(f"{problem_id}:{seed}")
        if rng.random() < self.config.no_answer_rate:
            text = rng.choice(GARBAGE)
        else:
            correct = rng.random() < self._p_success[problem_id]
            text = self.make_output(self.problems[problem_id], correct, rng)
        return Completion(text=text, finish_reason="stop", prompt_tokens=prompt_len // 4 + 1,
                          completion_tokens=len(text) // 4 + 1)

    async def generate(self, requests: Iterable[GenerationRequest]) -> AsyncIterator[GenerationResult]:
        pace = self.config.seconds_per_request
        ready = time.monotonic()
        for count, req in enumerate(requests):
            prompt_len = len(req.prompt or "") + sum(len(m.get("content", "")) for m in req.messages or ())
            completions = [self.complete(req.problem_id, req.seed + j, prompt_len) for j in range(req.n)]
            if pace:
                # A busy server with the next request already queued: one done every `pace` seconds on
                # its own clock, so the moments the client spends on a result (or waiting for a CPU)
                # do not add up; a client later than one whole request restarts the clock.
                ready = max(ready + pace, time.monotonic())
                await asyncio.sleep(max(0.0, ready - time.monotonic()))
            yield GenerationResult(request=req, completions=completions)
            if count % 256 == 255:
                await asyncio.sleep(0)  # let the event loop breathe (progress, signals)

    async def aclose(self) -> None:
        return None
