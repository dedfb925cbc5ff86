"""A CodeContests row of any shape read into one spec: statement, tests, limits, reference programs.

Problem data only: the task (harness.problems.code_contests) and the verifier
(harness.verifiers.code) both read it, so neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEST_GROUPS = ("public_tests", "private_tests", "generated_tests")
_LANGUAGE_IDS = {1: "python2", 2: "cpp", 3: "python", 4: "java"}  # DeepMind's Language enum
_LANGUAGE_NAMES = {"PYTHON3": "python", "PYTHON": "python2", "CPP": "cpp", "JAVA": "java"}
_KEPT_SOLUTIONS = 3  # per language: enough to simulate, and the store stays small


@dataclass(frozen=True)
class TestCase:
    input: str
    output: str
    group: str  # public, private, generated, test


@dataclass(frozen=True)
class ContestSpec:
    description: str
    tests: tuple[TestCase, ...]
    time_limit_s: float | None
    memory_limit_bytes: int | None
    fewshot_prompt: str | None  # a completion prompt that came with the row
    solutions: dict[str, tuple[str, ...]]  # language -> reference programs


def _test_group(value: Any, group: str) -> list[TestCase]:
    """{"input": [...], "output": [...]} -> test cases; ValueError when malformed."""
    if value is None:
        return []
    if isinstance(value, list):  # [{"input": ..., "output": ...}, ...]
        return [TestCase(str(t["input"]), str(t["output"]), group) for t in value]
    inputs, outputs = value.get("input") or [], value.get("output") or []
    if len(inputs) != len(outputs):
        raise ValueError(f"'{group}' has {len(inputs)} inputs but {len(outputs)} outputs")
    return [TestCase(str(i), str(o), group) for i, o in zip(inputs, outputs, strict=True)]


def _tests(data: dict[str, Any]) -> tuple[TestCase, ...]:
    if "test_cases" in data:
        return tuple(_test_group(data["test_cases"], "test"))
    if isinstance(data.get("tests"), list):
        return tuple(_test_group(data["tests"], "test"))
    found: list[TestCase] = []
    for field in TEST_GROUPS:
        found += _test_group(data.get(field), field.removesuffix("_tests"))
    return tuple(found)


def time_limit_seconds(value: Any) -> float | None:
    """{"seconds": 2, "nanos": 500000000} -> 2.5; a number is seconds; 0 or None -> None."""
    if isinstance(value, dict):
        value = float(value.get("seconds") or 0) + float(value.get("nanos") or 0) / 1e9
    if isinstance(value, int | float) and value > 0:
        return float(value)
    return None


def _language(value: Any) -> str:
    if isinstance(value, int):
        return _LANGUAGE_IDS.get(value, "unknown")
    return _LANGUAGE_NAMES.get(str(value).upper(), str(value).lower())


def _solution_pairs(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        languages, codes = value.get("language") or [], value.get("solution") or []
        return [(_language(lang), code) for lang, code in zip(languages, codes, strict=False)]
    if isinstance(value, list):
        return [(_language(item.get("language")), item.get("solution", "")) for item in value if isinstance(item, dict)]
    return []


def solutions_of(data: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for language, code in _solution_pairs(data.get("solutions")):
        if language in ("python", "cpp") and isinstance(code, str) and code.strip():
            found.setdefault(language, []).append(code)
    return {language: tuple(codes[:_KEPT_SOLUTIONS]) for language, codes in found.items()}


def contest_spec(data: dict[str, Any]) -> ContestSpec:
    """The spec of a row of any shape; ValueError names what is wrong."""
    description = data.get("description") or data.get("question") or data.get("statement_md") or ""
    if not isinstance(description, str) or not description.strip():
        raise ValueError("no problem statement ('description', 'question' or 'statement_md')")
    try:
        tests = _tests(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed tests ({exc!r})") from None
    if not tests:
        raise ValueError("no tests (public_tests/private_tests/generated_tests, test_cases or tests)")
    time_limit = time_limit_seconds(data.get("time_limit", data.get("timeout")))
    memory = data.get("memory_limit_bytes")
    prompt = data.get("prompt")
    return ContestSpec(description, tests, time_limit, memory if isinstance(memory, int) and memory > 0 else None,
                       prompt if isinstance(prompt, str) and prompt.strip() else None, solutions_of(data))
