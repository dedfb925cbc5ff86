"""MBPP: short Python functions described in one sentence and checked by assert statements.

Three row shapes load: the full release (`task_id`, `text`, `code`, `test_list`,
`test_setup_code`, `challenge_test_list`), the sanitized one (`task_id`, `prompt`, `code`,
`test_imports`, `test_list`) and MBPP+ (`task_id` "Mbpp/N", `prompt` a docstring holding the
task and one assert, `canonical_solution`, `assertion`; its `plus_input` are not run here).
Prompts use the usual few-shot format: "You are an expert Python programmer, and here is your
task: ... Your code should pass these tests:" with the tests, then the code between [BEGIN]
and [DONE]. A candidate passes when `code + imports + tests` exits 0 in time (MBPP's
`challenge_test_list` is not run, as usual).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.problems.base import DatasetError
from harness.problems.code_common import (
    SandboxedCodeTask,
    cut_at_stops,
    first_code_block,
    parses_as_python,
    python_key,
)
from harness.problems.datasets import load_problems, read_fewshot_rows
from harness.problems.mbpp_specs import MBPPSpec, mbpp_spec
from harness.records import Candidate, Problem

if TYPE_CHECKING:
    from harness.config import DatasetConfig
    from harness.problems.datasets import SourceRow
    from harness.verifiers.code import MBPPVerifier

DONE = "[DONE]"
BEGIN = "[BEGIN]"
NEXT_TASK = "\nYou are an expert Python programmer"  # a completion that ran on past a missing [DONE]
CHAT_INSTRUCTION = "Write a Python function for each task. Reply with the code in a single ```python code block."
_CODE_LINE = re.compile(r"^(?:def|class|import|from)\s", re.MULTILINE)



@dataclass(frozen=True)
class Exemplar:
    description: str
    tests: tuple[str, ...]
    code: str


BUILTIN_EXEMPLARS: tuple[Exemplar, ...] = (
    Exemplar("Write a function to return the sum of the squares of a list of integers.",
             ("assert sum_of_squares([1, 2, 3]) == 14", "assert sum_of_squares([]) == 0",
              "assert sum_of_squares([-2, 5]) == 29"),
             "def sum_of_squares(numbers):\n    return sum(n * n for n in numbers)"),
    Exemplar("Write a python function to count the vowels in a string.",
             ("assert count_vowels('banana') == 3", "assert count_vowels('sky') == 0",
              "assert count_vowels('AEIou') == 5"),
             "def count_vowels(text):\n    return sum(1 for ch in text.lower() if ch in 'aeiou')"),
    Exemplar("Write a function to find the second largest distinct number in a list.",
             ("assert second_largest([4, 1, 7, 7, 3]) == 4", "assert second_largest([10, 20]) == 10",
              "assert second_largest([5, 9, 9, 2, 8]) == 8"),
             "def second_largest(values):\n    distinct = sorted(set(values), reverse=True)\n    return distinct[1]"),
)


def problem_from_row(row: SourceRow) -> Problem:
    if row.data.get("task_id") is None:
        raise DatasetError(f"{row.where()}: missing 'task_id'")
    try:
        spec = mbpp_spec(row.data)
    except ValueError as exc:
        raise DatasetError(f"{row.where()}: {exc}") from None
    return Problem(id=str(row.data["task_id"]), task="mbpp", question=spec.description, data=row.data)


def exemplar_from_row(row: SourceRow) -> Exemplar:
    problem = problem_from_row(row)
    spec = mbpp_spec(problem.data)
    return Exemplar(spec.description, spec.shown_tests, spec.reference)


def _task_text(description: str, tests: tuple[str, ...]) -> str:
    return (f"You are an expert Python programmer, and here is your task: {description} "
            f"Your code should pass these tests:\n\n" + "\n".join(tests) + "\n")


def code_from_output(text: str) -> str | None:
    """A fenced block, else the text before [DONE] when it looks like Python code."""
    text = cut_at_stops(text, (DONE, NEXT_TASK))
    block = first_code_block(text)
    if block is not None:
        code = block.code
    else:
        code = text.replace(BEGIN, "", 1) if text.lstrip().startswith(BEGIN) else text
        if not (_CODE_LINE.search(code) or (code.strip() and parses_as_python(code) and "\n" in code.strip())):
            return None
    return code.strip("\n") if code.strip() else None


class MBPPTask(SandboxedCodeTask):
    name = "mbpp"
    default_stop: tuple[str, ...] = (DONE,)

    def __init__(self) -> None:
        self.exemplars: tuple[Exemplar, ...] = BUILTIN_EXEMPLARS

    def load(self, dataset: DatasetConfig) -> list[Problem]:
        problems = load_problems(dataset, problem_from_row)
        if dataset.fewshot_path is not None:
            self.exemplars = tuple(exemplar_from_row(row) for row in read_fewshot_rows(dataset))
        else:
            self.exemplars = BUILTIN_EXEMPLARS[: dataset.fewshot_k]
        return problems

    def build_prompt(self, problem: Problem, chat: bool) -> str | list[dict[str, str]]:
        spec = mbpp_spec(problem.data)
        if chat:
            return self._chat_messages(spec)
        shots = [f"{_task_text(e.description, e.tests)}{BEGIN}\n{e.code}\n{DONE}" for e in self.exemplars]
        return "\n".join([*shots, f"{_task_text(spec.description, spec.shown_tests)}{BEGIN}\n"])

    def _chat_messages(self, spec: MBPPSpec) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        for e in self.exemplars:
            messages.append({"role": "user", "content": _task_text(e.description, e.tests)})
            messages.append({"role": "assistant", "content": f"```python\n{e.code}\n```"})
        messages.append({"role": "user", "content": _task_text(spec.description, spec.shown_tests)})
        messages[0]["content"] = f"{CHAT_INSTRUCTION}\n\n{messages[0]['content']}"
        return messages

    def extract(self, problem: Problem, text: str) -> Candidate | None:
        code = code_from_output(text)
        if code is None:
            return None
        return Candidate(problem_id=problem.id, key=python_key(code), content=code)

    def verifier(self) -> MBPPVerifier:
        from harness.verifiers.code import MBPPVerifier  # noqa: PLC0415 - keeps task import light

        return MBPPVerifier(unsafe_no_isolation=self.unsafe_no_isolation)
