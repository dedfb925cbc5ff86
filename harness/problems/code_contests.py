"""CodeContests: competitive programming problems judged on stdin/stdout tests.

Row shapes that load (id = `name`, or `problem_dir`):
- DeepMind's native rows: `description`, `public_tests` / `private_tests` / `generated_tests`
  each `{"input": [...], "output": [...]}`, `time_limit` (`{seconds, nanos}` or a number),
  `memory_limit_bytes`, `solutions` (`{language: [...], solution: [...]}` or a list of such
  pairs; language 3 / "PYTHON3" is Python 3, 2 / "CPP" is C++).
- The Large Language Monkeys files: `question`, `prompt` (their few-shot prompt, used as is),
  `test_cases: {input, output}`, `timeout` in seconds (`samples` are dropped).
- Rows with `statement_md` and `tests: [{input, output}]`.

The program is the first fenced block of an output (code may start on the fence's line, as
the few-shot completions write it), Python 3 unless it is C++. Tests run public, then private,
then generated; outputs are compared token by token as DeepMind's checker does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.problems.base import DatasetError, NoOptions, typed_settings
from harness.problems.code_common import (
    Language,
    cut_at_stops,
    detect_language,
    first_code_block,
    parses_as_python,
    program_key,
)
from harness.problems.datasets import load_problems
from harness.records import Candidate, Problem

if TYPE_CHECKING:
    from harness.config import DatasetConfig, VerifyConfig
    from harness.problems.datasets import SourceRow
    from harness.verifiers.code import CodeContestsVerifier

NEXT_QUESTION = "\nQ:"  # where a few-shot completion runs on into the next problem
TEST_GROUPS = ("public_tests", "private_tests", "generated_tests")
_LANGUAGE_IDS = {1: "python2", 2: "cpp", 3: "python", 4: "java"}  # DeepMind's Language enum
_LANGUAGE_NAMES = {"PYTHON3": "python", "PYTHON": "python2", "CPP": "cpp", "JAVA": "java"}
_ENUM_NAMES = {"python": "PYTHON3", "cpp": "CPP"}
_KEPT_SOLUTIONS = 3  # per language: enough to simulate, and the store stays small
_IO_HINT = re.compile(r"\b(?:print|input|sys\.stdin|sys\.stdout|open\(0)")
_INSTRUCTIONS = {
    "python": "Solve the following competitive programming problem in Python 3. The program reads "
              "the input from standard input and writes the answer to standard output. "
              "Put the whole program in a single ``` code block.",
    "cpp": "Solve the following competitive programming problem in C++17. The program reads the "
           "input from standard input and writes the answer to standard output. "
           "Put the whole program in a single ```cpp code block.",
}



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


def _solutions(data: dict[str, Any]) -> dict[str, tuple[str, ...]]:
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
                       prompt if isinstance(prompt, str) and prompt.strip() else None, _solutions(data))


def _stored_row(data: dict[str, Any]) -> dict[str, Any]:
    """The row as kept in the run store: model samples and most reference solutions dropped."""
    kept = {k: v for k, v in data.items() if k not in ("samples", "solutions", "incorrect_solutions")}
    pairs = [{"language": _ENUM_NAMES[lang], "solution": code} for lang, codes in _solutions(data).items() for code in codes]
    if pairs:
        kept["solutions"] = pairs
    return kept


def problem_from_row(row: SourceRow) -> Problem:
    problem_id = row.data.get("name") or row.data.get("problem_dir")
    if not isinstance(problem_id, str) or not problem_id:
        raise DatasetError(f"{row.where()}: missing 'name' (the problem id)")
    try:
        spec = contest_spec(row.data)
    except ValueError as exc:
        raise DatasetError(f"{row.where()}: {exc}") from None
    return Problem(id=problem_id, task="code_contests", question=spec.description, data=_stored_row(row.data))


def program_from_output(text: str) -> str | None:
    """The first fenced block; unfenced text only when it is itself a program."""
    text = cut_at_stops(text, (NEXT_QUESTION,))
    block = first_code_block(text)
    if block is not None:
        return block.code.strip("\n") if block.code.strip() else None
    code = text.strip("\n")
    if detect_language(code) == "cpp":
        return code
    return code if parses_as_python(code) and _IO_HINT.search(code) else None


class CodeContestsTask:
    name = "code_contests"
    default_stop: tuple[str, ...] = (NEXT_QUESTION,)
    language: Language = "python"  # what prompts ask for; C++ answers are judged all the same

    def load(self, dataset: DatasetConfig) -> list[Problem]:
        return load_problems(dataset, problem_from_row)

    def build_prompt(self, problem: Problem, chat: bool) -> str | list[dict[str, str]]:
        spec = contest_spec(problem.data)
        instruction = _INSTRUCTIONS[self.language]
        if chat:
            return [{"role": "user", "content": f"{instruction}\n\n{spec.description.strip()}"}]
        if spec.fewshot_prompt is not None and self.language == "python":
            return spec.fewshot_prompt
        return f"Q: {instruction}\n{spec.description.strip()}\nA:"

    def extract(self, problem: Problem, text: str) -> Candidate | None:
        code = program_from_output(text)
        if code is None:
            return None
        return Candidate(problem_id=problem.id, key=program_key(code, detect_language(code)), content=code)

    unsafe_no_isolation = False  # set by `configure` from the run's verify.unsafe_no_isolation

    def settings_model(self) -> type[NoOptions]:
        return NoOptions

    def configure(self, verify: VerifyConfig) -> None:
        """No `verify.options`; the one verify setting code tasks read is running generated code
        without bubblewrap, at the user's explicit risk."""
        typed_settings(NoOptions, verify.options)
        self.unsafe_no_isolation = verify.unsafe_no_isolation

    def verifier(self) -> CodeContestsVerifier:
        from harness.verifiers.code import CodeContestsVerifier  # noqa: PLC0415 - keeps task import light

        return CodeContestsVerifier(unsafe_no_isolation=self.unsafe_no_isolation)




class CodeContestsCppTask(CodeContestsTask):
    """Prompts ask for C++17 (register it under a name to use it from a config)."""

    language: Language = "cpp"
