"""Few-shot math tasks: the flow GSM8K and MATH share, with their differences as hooks.

A `FewShotTask` loads source rows into problems, picks few-shot exemplars (built-in ones or
rows of a training split), frames them into a completion prompt or chat turns, extracts a
candidate answer from an output, and hands judging to MathVerifier. A subclass supplies only
what differs: how a row becomes a problem or an exemplar, how a question and a worked
solution are framed, and how an answer is found. (Simulated outputs: harness.simulated.)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Generic, TypeVar

from harness.problems.answers import normalize_answer
from harness.problems.datasets import SourceRow, load_problems, read_fewshot_rows
from harness.records import Candidate, Problem

if TYPE_CHECKING:
    from harness.config import DatasetConfig
    from harness.verifiers.math import MathVerifier

ExemplarT = TypeVar("ExemplarT")

_EXEMPLARS_BEFORE_LOAD = 4  # DatasetConfig.fewshot_k's default: an unloaded task prompts like a default run


def row_id(row: SourceRow, fields: tuple[str, ...]) -> str:
    """The first id field the row has, else its 0-based line (row) number."""
    for field in fields:
        if row.data.get(field) is not None:
            return str(row.data[field])
    return str(row.index)


class FewShotTask(ABC, Generic[ExemplarT]):
    """`load` also picks the few-shot exemplars that `build_prompt` uses afterwards."""

    name: str
    default_stop: tuple[str, ...]
    builtin_exemplars: tuple[ExemplarT, ...]
    chat_instruction: str  # rides on the first user turn
    question_prefix: str  # opens every question: "Question: ", "Problem:\n"
    answer_cue: str  # follows a question in a completion prompt: "\nAnswer:"
    cue_separator: str  # between the cue and an exemplar's worked solution

    def __init__(self) -> None:
        self.exemplars: tuple[ExemplarT, ...] = self.builtin_exemplars[:_EXEMPLARS_BEFORE_LOAD]

    # --- what a task says about itself -----------------------------------------------------

    @abstractmethod
    def _problem(self, row: SourceRow) -> Problem:
        """A validated test problem; raises DatasetError naming the row."""

    @abstractmethod
    def _exemplar(self, row: SourceRow) -> ExemplarT:
        """A few-shot exemplar from a training-split row."""

    @abstractmethod
    def _exemplar_texts(self, exemplar: ExemplarT) -> tuple[str, str]:
        """(question, worked solution as the model should write it)."""

    @abstractmethod
    def _answer_in(self, text: str) -> str | None:
        """The answer a model output gives, as written; None without one."""

    # --- the shared flow -------------------------------------------------------------------

    def load(self, dataset: DatasetConfig) -> list[Problem]:
        problems = load_problems(dataset, self._problem)
        self.exemplars = self._exemplars_for(dataset)
        return problems

    def _exemplars_for(self, dataset: DatasetConfig) -> tuple[ExemplarT, ...]:
        if dataset.fewshot_path is not None:
            return tuple(self._exemplar(row) for row in read_fewshot_rows(dataset))
        return self.builtin_exemplars[: dataset.fewshot_k]

    def build_prompt(self, problem: Problem, chat: bool) -> str | list[dict[str, str]]:
        if chat:
            return self._chat_messages(problem)
        blocks = []
        for exemplar in self.exemplars:
            question, solution = self._exemplar_texts(exemplar)
            blocks.append(f"{self.question_prefix}{question}{self.answer_cue}{self.cue_separator}{solution}")
        blocks.append(f"{self.question_prefix}{problem.question.strip()}{self.answer_cue}")
        return "\n\n".join(blocks)

    def _chat_messages(self, problem: Problem) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        for exemplar in self.exemplars:
            question, solution = self._exemplar_texts(exemplar)
            messages.append({"role": "user", "content": f"{self.question_prefix}{question}"})
            messages.append({"role": "assistant", "content": solution})
        messages.append({"role": "user", "content": f"{self.question_prefix}{problem.question.strip()}"})
        # The instruction rides on the first user turn so it frames the exemplars too.
        messages[0]["content"] = f"{self.chat_instruction}\n\n{messages[0]['content']}"
        return messages

    def extract(self, problem: Problem, text: str) -> Candidate | None:
        answer = self._answer_in(text)
        if answer is None:
            return None
        return Candidate(problem_id=problem.id, key=normalize_answer(answer), content=answer)

    def verifier(self) -> MathVerifier:
        from harness.verifiers.math import MathVerifier  # noqa: PLC0415 - keeps task import light

        return MathVerifier()
