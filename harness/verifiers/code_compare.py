"""The CodeContests output checker: does a program's output match the expected one?"""

from __future__ import annotations

import re

SHOWN_CHARS = 300  # of an input, expected or actual output in evidence

# DeepMind's checker (code_contests, execution/tester_sandboxer.cc, OutputsMatch): split both
# outputs on the ASCII blanks " \n\t\r\v", skip empty pieces, lower-case ASCII letters; equal
# token lists match; otherwise the lists must have the same length and every pair of tokens
# match: two numbers when they differ by less than 1e-5 (absolute), anything else when equal.
# Two deliberate differences, both stricter: two integers must be exactly equal (the original
# compares numbers as doubles, so 10^18 and 10^18 + 1 "match"), and identical tokens always
# match (the original fails "nan" against "nan" once another token differs).

FLOAT_TOLERANCE = 1e-5
_BLANKS = re.compile(r"[ \n\t\r\v]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.IGNORECASE)


def output_tokens(text: str) -> list[str]:
    return [token.translate(_ASCII_LOWER) for token in _BLANKS.split(text) if token]


def _number(token: str) -> float | None:
    return float(token) if _NUMBER.fullmatch(token) else None


def tokens_match(got: str, expected: str) -> bool:
    if got == expected:
        return True
    if _INTEGER.fullmatch(got) and _INTEGER.fullmatch(expected):
        return int(got) == int(expected)
    a, b = _number(got), _number(expected)
    if a is None or b is None:
        return False
    return abs(a - b) < FLOAT_TOLERANCE  # nan and inf - inf compare False, as in the original


def compare_outputs(got: str, expected: str) -> str | None:
    """None when `got` is accepted for `expected`; else what differs first."""
    got_tokens, expected_tokens = output_tokens(got), output_tokens(expected)
    if got_tokens == expected_tokens:
        return None
    if len(got_tokens) != len(expected_tokens):
        return f"expected {len(expected_tokens)} tokens, got {len(got_tokens)}"
    for index, (a, b) in enumerate(zip(got_tokens, expected_tokens, strict=True)):
        if not tokens_match(a, b):
            return f"token {index + 1}: expected {_short(b, 60)!r}, got {_short(a, 60)!r}"
    return None


def outputs_match(got: str, expected: str) -> bool:
    return compare_outputs(got, expected) is None


def _short(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} chars)"

