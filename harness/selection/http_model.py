"""A model for the test writer and the chooser: one chat completion from an OpenAI-compatible server.

A failed call (HTTP error, unreachable server, a reply that is not JSON) is said on stderr and gives an
empty reply: the writer then has no test from it, the chooser falls back to the top-ranked candidate,
and selection goes on."""

from __future__ import annotations

import sys

import httpx


class ChatCompletion:
    """(prompt, seed) -> (text, prompt tokens, completion tokens); missing usage estimated at 4 chars a token."""

    def __init__(self, base_url: str, model: str, *, api_key: str = "none", temperature: float = 0.8,
                 max_tokens: int = 2048, timeout_s: float = 300.0) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s

    def __call__(self, prompt: str, seed: int) -> tuple[str, int, int]:
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}], "seed": seed,
                "temperature": self.temperature, "max_tokens": self.max_tokens, "n": 1}
        try:
            reply = httpx.post(self.url, json=body, headers=self.headers, timeout=self.timeout_s)
            reply.raise_for_status()
            data = reply.json()
            text = ((data.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        except (httpx.HTTPError, ValueError, AttributeError, IndexError) as exc:
            print(f"monkeys select: the selection model at {self.url} failed ({type(exc).__name__}: {exc}); "
                  "an empty reply stands in", file=sys.stderr)
            return "", 0, 0
        usage = data.get("usage") or {}
        return (text, int(usage.get("prompt_tokens") or len(prompt) // 4),
                int(usage.get("completion_tokens") or len(text) // 4))
