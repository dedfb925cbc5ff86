"""HumanEval: complete a Python function from its signature and docstring.

Rows (`.jsonl` or `.jsonl.gz`, HumanEval and HumanEval+ alike): `task_id` (the problem id),
`prompt` (imports, signature, docstring), `canonical_solution` (a body), `test` (defines
`check(candidate)`), `entry_point`. The completion prompt is `prompt` itself and an output is
the function body, cut at the Codex stop sequences; in chat, the model is asked for the whole
function in a fenced block. Either way the candidate is the whole program, keyed by its
syntax tree, and it passes when `program + test + check(entry_point)` exits 0 in time.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from harness.problems.base import DatasetError
from harness.problems.code_common import (
    SandboxedCodeTask,
    cut_at_stops,
    first_code_block,
    parses_as_python,
    python_key,
    python_tree,
)
from harness.problems.datasets import load_problems
from harness.records import Candidate, Problem

if TYPE_CHECKING:
    from harness.config import DatasetConfig
    from harness.problems.datasets import SourceRow
    from harness.verifiers.code import HumanEvalVerifier

STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")  # the Codex paper's
CHAT_INSTRUCTION = (
    "Complete the following Python function. Reply with the complete function, "
    "including the imports it needs, in a single fenced Python code block."
)
_REQUIRED = ("task_id", "prompt", "test", "entry_point")
_IMPORT_LINE = re.compile(r"^(?:import|from)\s+\S+.*$", re.MULTILINE)



def problem_from_row(row: SourceRow) -> Problem:
    for field in _REQUIRED:
        value = row.data.get(field)
        if not isinstance(value, str) or not value.strip():
            raise DatasetError(f"{row.where()}: missing or empty {field!r} field "
                               f"(HumanEval rows need {', '.join(_REQUIRED)})")
    entry = row.data["entry_point"]
    if f"def {entry}" not in row.data["prompt"]:
        raise DatasetError(f"{row.where()}: 'prompt' does not define entry_point {entry!r}")
    return Problem(id=row.data["task_id"], task="humaneval", question=row.data["prompt"], data=row.data)


def completion_program(prompt: str, completion: str) -> str:
    """The program a completion makes: the prompt and the body, cut where Codex stopped."""
    return prompt + cut_at_stops(completion, STOP_SEQUENCES)


def full_function_program(prompt: str, entry_point: str, code: str) -> str:
    """A whole function from a chat answer, with the prompt's imports and helper functions it left out."""
    missing = [line for line in _IMPORT_LINE.findall(prompt) if line.strip() not in code]
    missing += [helper for name, helper in _prompt_helpers(prompt, entry_point) if not re.search(rf"\bdef\s+{name}\s*\(", code)]
    return "\n".join(missing + [code]) if missing else code


def _prompt_helpers(prompt: str, entry_point: str) -> list[tuple[str, str]]:
    """(name, source) of the functions a prompt defines before the entry point (HumanEval/10, /38, ...)."""
    tree = python_tree(prompt + "    pass\n")
    if tree is None:
        return []
    return [(node.name, ast.get_source_segment(prompt, node) or "") for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name != entry_point]


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def program_from_output(problem: Problem, text: str) -> str | None:
    """The program an output stands for, or None when it holds no code.

    An indented first line continues the prompt (a completion); otherwise a fenced block, or
    the whole output if it is valid Python defining the entry point, is the function.
    """
    prompt, entry = problem.data["prompt"], problem.data["entry_point"]
    first = _first_line(text)
    if not first:
        return None
    if first[0] in " \t":
        return completion_program(prompt, text)
    block = first_code_block(text)
    code = block.code if block is not None else text
    if not code.strip():
        return None
    if re.search(rf"\bdef\s+{re.escape(entry)}\s*\(", code):
        return full_function_program(prompt, entry, code)
    if block is not None and _first_line(code)[:1] in (" ", "\t"):
        return completion_program(prompt, code)  # a fenced body
    return None if block is None or not parses_as_python(code) else full_function_program(prompt, entry, code)


class HumanEvalTask(SandboxedCodeTask):
    name = "humaneval"
    default_stop: tuple[str, ...] = STOP_SEQUENCES  # completions API; set `stop: []` for chat

    def load(self, dataset: DatasetConfig) -> list[Problem]:
        return load_problems(dataset, problem_from_row)

    def build_prompt(self, problem: Problem, chat: bool) -> str | list[dict[str, str]]:
        prompt = problem.data["prompt"]
        if not chat:
            return prompt
        return [{"role": "user", "content": f"{CHAT_INSTRUCTION}\n\n```python\n{prompt.rstrip()}\n```"}]

    def extract(self, problem: Problem, text: str) -> Candidate | None:
        program = program_from_output(problem, text)
        if program is None:
            return None
        return Candidate(problem_id=problem.id, key=python_key(program), content=program)

    def verifier(self) -> HumanEvalVerifier:
        from harness.verifiers.code import HumanEvalVerifier  # noqa: PLC0415 - keeps task import light

        return HumanEvalVerifier(unsafe_no_isolation=self.unsafe_no_isolation)
