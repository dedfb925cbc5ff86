"""MATH and MATH-500: competition problems with LaTeX answers.

MATH rows: `problem`, `solution` (answer in the last \\boxed{}), `level`, `type`; id = 0-based
line number. MATH-500 rows add `answer`, `subject` and `unique_id` (the id). Prompts use the
Minerva format ("Problem:/Solution:" ending "Final Answer: The final answer is $X$. I hope it
is correct."); MathVerifier judges the extracted answer against the gold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.problems.answers import last_boxed_content
from harness.problems.base import DatasetError
from harness.problems.fewshot import FewShotTask, row_id
from harness.records import Problem

if TYPE_CHECKING:
    from harness.problems.datasets import SourceRow

FINAL_ANSWER_PHRASE = "final answer is"
CHAT_INSTRUCTION = (
    "Solve each problem. End your solution with the line "
    "'Final Answer: The final answer is $X$. I hope it is correct.' where X is the final answer."
)
_ID_FIELDS = ("unique_id", "id", "problem_id")
_DOLLAR_SPAN = re.compile(r"\$+((?:[^$\\]|\\.)*?)\$")  # $...$ where \$ is an escaped dollar


@dataclass(frozen=True)
class Exemplar:
    problem: str
    solution: str  # the worked solution, without the final-answer line
    answer: str


BUILTIN_EXEMPLARS: tuple[Exemplar, ...] = (
    Exemplar(
        "If $5x - 8 = 2x + 13$, what is the value of $x$?",
        "Subtracting $2x$ from both sides gives $3x - 8 = 13$. Adding 8 gives $3x = 21$, so $x = 7$.",
        "7",
    ),
    Exemplar(
        "A bag holds 4 green marbles and 6 yellow marbles. Two marbles are drawn without replacement. "
        "What is the probability that both are green? Express your answer as a common fraction.",
        "There are $\\binom{10}{2} = 45$ ways to draw two marbles and $\\binom{4}{2} = 6$ ways to draw two "
        "green ones. The probability is $\\frac{6}{45} = \\frac{2}{15}$.",
        "\\frac{2}{15}",
    ),
    Exemplar(
        "For which values of $t$ is $t^2 - 9 < 0$? Express your answer in interval notation.",
        "We have $t^2 - 9 = (t - 3)(t + 3)$, which is negative exactly when the two factors have opposite "
        "signs, that is when $-3 < t < 3$. In interval notation this is $(-3, 3)$.",
        "(-3, 3)",
    ),
    Exemplar(
        "Find the distance between the points $(1, 2)$ and $(4, 8)$.",
        "The horizontal change is $4 - 1 = 3$ and the vertical change is $8 - 2 = 6$. By the Pythagorean "
        "theorem the distance is $\\sqrt{3^2 + 6^2} = \\sqrt{45} = 3\\sqrt{5}$.",
        "3\\sqrt{5}",
    ),
)

def final_answer_line(answer: str) -> str:
    return f"Final Answer: The final answer is ${answer}$. I hope it is correct."


def gold_from_row(row: SourceRow) -> str | None:
    """`answer` when the row has one (MATH-500), else the last \\boxed{} of the solution."""
    answer = row.data.get("answer")
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    if isinstance(answer, str) and answer.strip():
        return answer.strip()
    solution = row.data.get("solution")
    boxed = last_boxed_content(solution) if isinstance(solution, str) else None
    return boxed.strip() if boxed and boxed.strip() else None


def problem_from_row(row: SourceRow) -> Problem:
    question = row.data.get("problem")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{row.where()}: missing or empty 'problem' field")
    gold = gold_from_row(row)
    if gold is None:
        raise DatasetError(f"{row.where()}: no gold answer: neither an 'answer' field nor a \\boxed{{}} in 'solution'")
    return Problem(id=row_id(row, _ID_FIELDS), task="math", question=question, answer=gold, data=row.data)


def exemplar_from_row(row: SourceRow) -> Exemplar:
    problem = problem_from_row(row)
    solution = row.data.get("solution")
    if not isinstance(solution, str) or not solution.strip():
        raise DatasetError(f"{row.where()}: a few-shot row needs a 'solution'")
    return Exemplar(problem.question.strip(), solution.strip(), problem.answer or "")


def _answer_after_phrase(text: str) -> str | None:
    """X in '... final answer is $X$. I hope it is correct.' (the dollars are optional)."""
    position = text.lower().rfind(FINAL_ANSWER_PHRASE)
    if position < 0:
        return None
    rest = text[position + len(FINAL_ANSWER_PHRASE) :]
    hope = rest.find("I hope")
    rest = rest[:hope] if hope >= 0 else rest.split("\n", 1)[0]
    rest = rest.strip()
    if rest.startswith("$"):
        span = _DOLLAR_SPAN.match(rest)
        rest = span.group(1) if span else rest.strip("$")
    rest = rest.strip().rstrip(".").strip()
    if "\\boxed" in rest or "\\fbox" in rest:
        rest = last_boxed_content(rest) or rest
    return rest or None


def extract_answer(text: str) -> str | None:
    """The answer after 'final answer is', else the last \\boxed{}; cut where a next 'Problem:' starts."""
    text = text.split("Problem:", 1)[0]
    answer = _answer_after_phrase(text)
    if answer is None:
        boxed = last_boxed_content(text)
        answer = boxed.strip() if boxed else None
    return answer or None


class MathTask(FewShotTask[Exemplar]):
    """Minerva-format "Problem:/Solution:" prompts; answers end in a 'Final Answer:' line."""

    name = "math"
    default_stop: tuple[str, ...] = ("\n\nProblem:", "Problem:")
    builtin_exemplars = BUILTIN_EXEMPLARS
    chat_instruction = CHAT_INSTRUCTION
    question_prefix = "Problem:\n"
    answer_cue = "\n\nSolution:"
    cue_separator = "\n"

    def _problem(self, row: SourceRow) -> Problem:
        return problem_from_row(row)

    def _exemplar(self, row: SourceRow) -> Exemplar:
        return exemplar_from_row(row)

    def _exemplar_texts(self, exemplar: Exemplar) -> tuple[str, str]:
        # Exemplars keep the answer apart so the solution can end in the Minerva line.
        return exemplar.problem, f"{exemplar.solution}\n{final_answer_line(exemplar.answer)}"

    def _answer_in(self, text: str) -> str | None:
        return extract_answer(text)
