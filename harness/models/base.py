"""The seam between the sampler and whatever produces text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Protocol, runtime_checkable

from harness.records import GenerationRequest, GenerationResult


@runtime_checkable
class ModelBackend(Protocol):
    """Turns requests into completions.

    `generate` pulls requests lazily from the iterable (so a backend can keep a bounded
    window in flight) and yields one result per request, in any order, as each finishes.
    A request that fails for good is yielded with `error` set, never dropped.
    """

    name: str
    simulated: bool  # outputs did not come from a real model; reports must say so

    def generate(self, requests: Iterable[GenerationRequest]) -> AsyncIterator[GenerationResult]: ...

    async def aclose(self) -> None: ...


class BackendUnavailable(RuntimeError):
    """A backend cannot be built here (missing extra, missing file); the message says what to do."""


@runtime_checkable
class ReportsServerBehaviour(Protocol):
    """A backend that adapts to what its server turns out to do, and says so.

    `run_notes()`: key -> sentence, one per thing learned (e.g. the server ignores `n`, so
    samples went one request each). The run store keeps them and the report lists them.
    """

    def run_notes(self) -> dict[str, str]: ...


@runtime_checkable
class HoldsSamples(Protocol):
    """A backend with a fixed number of samples per problem (replayed ones): a run wants no more than that."""

    def available(self, problem_id: str) -> int: ...


@runtime_checkable
class EstimatesTokens(Protocol):
    """A backend whose token counts may be estimates (imported samples without counts); reports say so."""

    @property
    def tokens_estimated(self) -> bool: ...
