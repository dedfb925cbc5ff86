#!/usr/bin/env python3
"""monkeys' OpenAI backend against the inference server's own speed: tokens/s, side by side.

    python scripts/bench_http.py [--base-url URL] [--requests 16] [--concurrency 2] [--max-tokens 64] [--rounds 3] [--n 4]

The same chat requests (same prompts, seeds and sampling settings, so the same work) go to
llama.cpp's server serving SmolLM2-135M-Instruct (started here on 127.0.0.1 unless --base-url
names one) two ways, in alternating rounds:

- direct: a plain loop with httpx, `--concurrency` requests in flight, one sample each;
- monkeys: `OpenAIBackend.generate` with the same concurrency, one request per sample;
- monkeys, n > 1: requests of `--n` samples each; llama.cpp answers one choice, so the backend
  sends one call per sample (learned before timing starts), against the same single-sample
  calls sent directly.

Tokens/s is the server's usage.completion_tokens over wall time. Both sides must get the same
token totals (the same seeds), which is checked. The ratio monkeys / direct is the number.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.config import OpenAIModelConfig  # noqa: E402
from harness.models.openai_http import OpenAIBackend  # noqa: E402
from harness.records import GenerationRequest, SamplingParams  # noqa: E402
from scripts.small_model import MODEL_NAME, start_server  # noqa: E402

TOPICS = ["rivers", "bread", "bicycles", "clocks", "bees", "glass", "maps", "violins", "salt", "kites", "moss", "ink",
          "bridges", "tea", "owls", "copper"]
TEMPERATURE, TOP_P = 0.8, 0.95


def prompts(count: int) -> list[str]:
    return [f"Write three sentences about {TOPICS[i % len(TOPICS)]} (request {i})." for i in range(count)]


async def direct(base_url: str, texts: list[str], seeds: list[int], concurrency: int, max_tokens: int) -> tuple[int, float]:
    """The plain loop: every (prompt, seed) as one call, at most `concurrency` in flight."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=600) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(text: str, seed: int) -> int:
            body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": text}], "n": 1, "seed": seed,
                    "temperature": TEMPERATURE, "top_p": TOP_P, "max_tokens": max_tokens}
            async with semaphore:
                response = await client.post(f"{base_url}/chat/completions", json=body)
            response.raise_for_status()
            return int(response.json()["usage"]["completion_tokens"])

        started = time.perf_counter()
        tokens = await asyncio.gather(*(one(t, s) for t, s in zip(texts, seeds)))
        return sum(tokens), time.perf_counter() - started


async def through_monkeys(backend: OpenAIBackend, texts: list[str], first_seed: int, n: int, max_tokens: int) -> tuple[int, float]:
    params = SamplingParams(temperature=TEMPERATURE, top_p=TOP_P, max_tokens=max_tokens)
    requests = [GenerationRequest(problem_id=str(i), first_index=0, n=n, seed=first_seed + i * n, params=params,
                                  messages=({"role": "user", "content": text},)) for i, text in enumerate(texts)]
    started = time.perf_counter()
    tokens = 0
    async for result in backend.generate(requests):
        if result.error:
            raise RuntimeError(result.error)
        tokens += sum(c.completion_tokens for c in result.completions)
    return tokens, time.perf_counter() - started


def make_backend(base_url: str, concurrency: int) -> OpenAIBackend:
    config = OpenAIModelConfig(backend="openai", model=MODEL_NAME, base_url=base_url, api_key_env=None, api="chat",
                               concurrency=concurrency, timeout_s=600, max_retries=0)
    return OpenAIBackend(config)


async def bench(base_url: str, args: argparse.Namespace) -> dict[str, Any]:
    texts = prompts(args.requests)
    single = make_backend(base_url, args.concurrency)
    fanned = make_backend(base_url, args.concurrency)
    # Warm-up, untimed: the server's first prompts, and the n > 1 backend learning that the server ignores n.
    await through_monkeys(fanned, texts[:1], 10_000, args.n, 4)
    await direct(base_url, texts[:2], [1, 2], args.concurrency, 4)
    grouped = texts[: max(1, args.requests // args.n)]  # n > 1: as many samples as the single-sample scenario
    rows: dict[str, list[tuple[int, float]]] = {"direct": [], "monkeys": [], "direct_n": [], "monkeys_n": []}
    for round_number in range(args.rounds):
        seed = 1000 * round_number
        seeds = [seed + i for i in range(len(texts))]
        # The n > 1 scenario: request i's sample j has seed seed + i*n + j on both sides.
        fan_texts = [t for t in grouped for _ in range(args.n)]
        fan_seeds = [seed + i * args.n + j for i in range(len(grouped)) for j in range(args.n)]
        arms = {
            "direct": lambda: direct(base_url, texts, seeds, args.concurrency, args.max_tokens),
            "monkeys": lambda: through_monkeys(single, texts, seed, 1, args.max_tokens),
            "direct_n": lambda: direct(base_url, fan_texts, fan_seeds, args.concurrency, args.max_tokens),
            "monkeys_n": lambda: through_monkeys(fanned, grouped, seed, args.n, args.max_tokens),
        }
        # Every other round the other side goes first, so neither always meets the server warm.
        order = ["direct", "monkeys", "direct_n", "monkeys_n"] if round_number % 2 == 0 else ["monkeys", "direct", "monkeys_n", "direct_n"]
        for name in order:
            rows[name].append(await arms[name]())
            tokens, wall = rows[name][-1]
            print(f"round {round_number + 1} {name:9s} {tokens:5d} tokens in {wall:6.2f} s = {tokens / wall:6.1f} tokens/s",
                  file=sys.stderr)
    await single.aclose()
    await fanned.aclose()
    for a, b in (("direct", "monkeys"), ("direct_n", "monkeys_n")):
        for (ta, _), (tb, _) in zip(rows[a], rows[b]):
            # Same seeds, same work; llama.cpp's reuse of its cached prefix can still shift a sample's length.
            if abs(ta - tb) > 0.1 * max(ta, tb):
                raise SystemExit(f"{a} and {b} generated {ta} and {tb} tokens: not the same work")
    rate = {name: [t / w for t, w in values] for name, values in rows.items()}
    return {
        "tokens_per_s": {name: round(statistics.median(values), 1) for name, values in rate.items()},
        "ratio_n1": round(statistics.median(m / d for m, d in zip(rate["monkeys"], rate["direct"])), 3),
        "ratio_n": round(statistics.median(m / d for m, d in zip(rate["monkeys_n"], rate["direct_n"])), 3),
        "fanned_out": sorted(fanned.learned),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=None, help="a running server (default: start llama.cpp's here)")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=4, help="samples per request in the n > 1 scenario")
    parser.add_argument("--threads", type=int, default=2, help="server threads (when started here)")
    args = parser.parse_args(argv)
    process = None
    base_url = args.base_url
    if base_url is None:
        process, base_url = start_server(n_ctx=2048, threads=args.threads)
    try:
        result = asyncio.run(bench(base_url, args))
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    print(result)
    print(f"monkeys keeps {100 * result['ratio_n1']:.1f}% of the server's tokens/s (n=1 requests), "
          f"{100 * result['ratio_n']:.1f}% with n={args.n} requests sent one call per sample")
    return 0


if __name__ == "__main__":
    sys.exit(main())
