"""What the backend tests share."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from harness.models.base import ModelBackend
from harness.records import GenerationRequest, GenerationResult


def run_all(backend: ModelBackend, requests: Iterable[GenerationRequest]) -> list[GenerationResult]:
    """Every result of one generate() call, in completion order; the backend closed afterwards."""
    async def go() -> list[GenerationResult]:
        try:
            return [result async for result in backend.generate(requests)]
        finally:
            await backend.aclose()

    return asyncio.run(go())
