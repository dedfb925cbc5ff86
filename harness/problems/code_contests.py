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
from typing import TYPE_CHECKING, Any

from harness.problems.base import DatasetError
from harness.problems.code_common import (
    Language,
    SandboxedCodeTask,
    cut_at_stops,
    detect_language,
    first_code_block,
    parses_as_python,
    program_key,
)
from harness.problems.contest_specs import contest_spec, solutions_of
from harness.problems.datasets import load_problems
from harness.records import Candidate, Problem

if TYPE_CHECKING:
    from harness.config import DatasetConfig
    from harness.problems.datasets import SourceRow
    from harness.verifiers.code import CodeContestsVerifier

NEXT_QUESTION = "\nQ:"  # where a few-shot completion runs on into the next problem
_ENUM_NAMES = {"python": "PYTHON3", "cpp": "CPP"}
_IO_HINT = re.compile(r"\b(?:print|input|sys\.stdin|sys\.stdout|open\(0)")
_INSTRUCTIONS = {
    "python": "Solve the following competitive programming problem in Python 3. The program reads "
              "the input from standard input and writes the answer to standard output. "
              "Put the whole program in a single ``` code block.",
    "cpp": "Solve the following competitive programming problem in C++17. The program reads the "
           "input from standard input and writes the answer to standard output. "
           "Put the whole program in a single ```cpp code block.",
}



def _stored_row(data: dict[str, Any]) -> dict[str, Any]:
    """The row as kept in the run store: model samples and most reference solutions dropped."""
    kept = {k: v for k, v in data.items() if k not in ("samples", "solutions", "incorrect_solutions")}
    pairs = [{"language": _ENUM_NAMES[lang], "solution": code} for lang, codes in solutions_of(data).items() for code in codes]
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


class CodeContestsTask(SandboxedCodeTask):
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

    def verifier(self) -> CodeContestsVerifier:
        from harness.verifiers.code import CodeContestsVerifier  # noqa: PLC0415 - keeps task import light

        return CodeContestsVerifier(unsafe_no_isolation=self.unsafe_no_isolation)




class CodeContestsCppTask(CodeContestsTask):
    """Prompts ask for C++17 (register it under a name to use it from a config)."""

    language: Language = "cpp"
