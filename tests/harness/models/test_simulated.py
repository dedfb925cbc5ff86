import asyncio
import statistics

from harness.config import SimulatedModelConfig
from harness.models.simulated import SimulatedBackend
from harness.records import GenerationRequest, Problem
from tests.harness.toy_task import ToyTask


def backend(problems, **kwargs):
    return SimulatedBackend(SimulatedModelConfig(backend="simulated", **kwargs), ToyTask(), problems)


async def collect(b, reqs):
    return [r async for r in b.generate(reqs)]


def test_outputs_are_a_function_of_problem_and_seed():
    problems = [Problem(id=f"p{i}", task="toy", question="q", answer=str(i)) for i in range(3)]
    reqs = [GenerationRequest(problem_id=p.id, first_index=0, n=8, seed=40, prompt="x") for p in problems]
    a = asyncio.run(collect(backend(problems), reqs))
    b = asyncio.run(collect(backend(problems), reqs))
    assert [c.text for r in a for c in r.completions] == [c.text for r in b for c in r.completions]
    # Sample j of a request with seed s equals sample 0 of a request with seed s + j.
    single = asyncio.run(collect(backend(problems), [GenerationRequest(problem_id="p1", first_index=3, n=1, seed=43, prompt="x")]))
    assert single[0].completions[0].text == a[1].completions[3].text


def test_difficulty_has_a_long_low_tail():
    problems = [Problem(id=f"p{i}", task="toy", question="q", answer="1") for i in range(2000)]
    model = backend(problems)
    probs = [model.success_probability(p.id) for p in problems]
    assert statistics.median(probs) < 0.25  # most problems are hard
    assert sum(p < 0.02 for p in probs) > 200  # a long low tail that only many samples reach
    assert sum(p > 0.8 for p in probs) > 20  # and some are easy


class FakeClock:
    """time.monotonic and asyncio.sleep for the simulated model: sleeping and the client's work advance it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def paced_sleeps(monkeypatch, client_s: list[float]) -> list[float]:
    """The sleeps the model asks for when the client spends client_s[i] on result i."""
    import harness.models.simulated as simulated

    clock = FakeClock()
    monkeypatch.setattr(simulated.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(simulated.asyncio, "sleep", clock.sleep)
    problems = [Problem(id="p", task="toy", question="q", answer="1")]
    reqs = [GenerationRequest(problem_id="p", first_index=i, n=1, seed=i, prompt="x") for i in range(len(client_s))]

    async def consume() -> None:
        async for result in backend(problems, seconds_per_request=0.1).generate(reqs):
            clock.now += client_s[result.request.first_index]

    asyncio.run(consume())
    return clock.sleeps


def test_the_pace_is_the_servers_clock_so_client_delays_do_not_add_up(monkeypatch):
    # 30 ms of client work per result is absorbed: the server finished the next request meanwhile.
    assert paced_sleeps(monkeypatch, [0.03] * 4) == [0.1, 0.07, 0.07, 0.07]


def test_a_client_later_than_a_whole_request_restarts_the_servers_clock(monkeypatch):
    # After a 0.5 s stall the server has one request ready, not five.
    assert paced_sleeps(monkeypatch, [0.5, 0.0, 0.0]) == [0.1, 0.0, 0.1]
