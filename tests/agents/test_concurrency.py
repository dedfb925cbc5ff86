"""Hundreds of attempts in one event loop against one backend; calls reach it in batches."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agents.config import AgentConfig, Budgets
from agents.loop import EndStatus
from agents.model import BackendClient
from agents.runner import AgentRunner, Environments
from agents.scripted import ScriptedBackend
from agents.tools import Environment
from harness.records import GenerationRequest, GenerationResult, Problem
from tests.agents.helpers import CORRECT, spec


class CountingBackend(ScriptedBackend):
    """Records the largest batch it was given."""

    largest = 0

    async def generate(self, requests):  # type: ignore[override]
        batch = list(requests)
        self.largest = max(self.largest, len(batch))
        async for result in super().generate(batch):
            yield result


def test_600_attempts_run_concurrently_and_all_end(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    backend = CountingBackend(responder=lambda _r, step: CORRECT[step])
    # No pacing: with it, how many batches there are depends on how fast this (shared) machine runs the tools.
    config = AgentConfig(budgets=Budgets(max_steps=12), max_in_flight=600, pace_slice_s=0)

    async def go() -> tuple[list, BackendClient]:
        client = BackendClient(backend)
        runner = AgentRunner(client, config, Environments(lambda _p: toy_env), tmp_path)
        results = [r async for r in runner.run((toy_problem, spec(toy_problem, i)) for i in range(600))]
        await client.aclose()
        return results, client

    results, client = asyncio.run(go())
    assert len(results) == 600 and all(r.status is EndStatus.FINISHED for r in results)
    assert len({r.patch for r in results}) == 1  # the same script gives the same patch: one candidate to verify
    assert client.calls == 600 * len(CORRECT)
    assert backend.largest == 600 and client.batches < client.calls / 50  # calls made in one tick share a batch
    assert len(list(tmp_path.rglob("*.jsonl"))) == 600


class SlowBackend:
    """An HTTP-like backend: each call takes a while; generate streams results as they finish."""

    name, simulated = "slow", False

    def __init__(self) -> None:
        self.inner = ScriptedBackend(responder=lambda _r, step: CORRECT[step])
        self.in_flight = self.peak = 0

    async def one(self, request: GenerationRequest) -> GenerationResult:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01 * (1 + request.first_index % 3))
        self.in_flight -= 1
        result = self.inner.result(request)
        assert isinstance(result, GenerationResult)
        return result

    async def generate(self, requests):
        for task in asyncio.as_completed([self.one(r) for r in requests]):
            yield await task

    async def aclose(self) -> None:
        return None


def test_a_slow_backend_keeps_every_attempt_in_flight(tmp_path: Path, toy_problem: Problem, toy_env: Environment) -> None:
    backend = SlowBackend()

    async def go() -> list:
        client = BackendClient(backend)  # type: ignore[arg-type]
        runner = AgentRunner(client, AgentConfig(max_in_flight=300), Environments(lambda _p: toy_env), tmp_path)
        return [r async for r in runner.run((toy_problem, spec(toy_problem, i)) for i in range(300))]

    results = asyncio.run(go())
    assert all(r.status is EndStatus.FINISHED for r in results)
    assert backend.peak == 300  # batches run side by side: attempts never wait for each other's calls
