"""GSM8K: grade-school word problems whose answers are numbers.

Rows are `{"question", "answer"}` where the answer is a worked solution ending in `#### N`.
Prompts follow the few-shot "Question: ...\\nAnswer: ..." format of the Large Language
Monkeys paper; answers are judged by MathVerifier (exact numeric comparison in practice).
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

ANSWER_MARKER = "####"
CHAT_INSTRUCTION = "Solve each math word problem step by step. End with a line '#### N' where N is the final number."
_CALCULATOR_NOTE = re.compile(r"<<[^<>]*>>")  # GSM8K's calculator annotations: training artefacts
_NUMBER = re.compile(r"-?(?:\$\s?)?-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_ANSWER_PHRASE = re.compile(r"the answer is|answer:", re.IGNORECASE)


@dataclass(frozen=True)
class Exemplar:
    question: str
    solution: str  # worked solution ending in "#### N"


BUILTIN_EXEMPLARS: tuple[Exemplar, ...] = (
    Exemplar(
        "A bakery makes 24 muffins in the morning and 18 muffins in the afternoon. "
        "It sells 30 muffins during the day. How many muffins are left at closing time?",
        "The bakery makes 24 + 18 = 42 muffins in total.\nAfter selling 30, it has 42 - 30 = 12 muffins left.\n#### 12",
    ),
    Exemplar(
        "Tom buys 3 notebooks that cost $4 each and one pen that costs $2. "
        "He pays with a $20 bill. How much change does he get, in dollars?",
        "The notebooks cost 3 * 4 = $12.\nTogether with the pen he spends 12 + 2 = $14.\n"
        "His change is 20 - 14 = $6.\n#### 6",
    ),
    Exemplar(
        "Maria has twice as many stickers as Ben. Ben has 15 stickers. "
        "Maria gives 7 of her stickers to a friend. How many stickers does Maria have now?",
        "Maria starts with 2 * 15 = 30 stickers.\nAfter giving 7 away she has 30 - 7 = 23 stickers.\n#### 23",
    ),
    Exemplar(
        "A class of 28 students is split into groups of 4. Every group needs 3 markers for a poster. "
        "How many markers does the class need?",
        "There are 28 / 4 = 7 groups.\nThe groups need 7 * 3 = 21 markers.\n#### 21",
    ),
    Exemplar(
        "A cyclist rides at 12 miles per hour for 2.5 hours and then walks 3 more miles. "
        "How many miles does she travel in total?",
        "Riding, she covers 12 * 2.5 = 30 miles.\nWith the walk the total is 30 + 3 = 33 miles.\n#### 33",
    ),
)

def gold_from_solution(solution: str) -> str | None:
    """'... #### 1,250' -> '1250'; None without a marker or a value after it."""
    if ANSWER_MARKER not in solution:
        return None
    gold = solution.rsplit(ANSWER_MARKER, 1)[1].strip().replace(",", "")
    return gold or None


def _text_field(row: SourceRow, field: str) -> str:
    value = row.data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{row.where()}: missing or empty {field!r} field (GSM8K rows need 'question' and 'answer')")
    return value


def problem_from_row(row: SourceRow) -> Problem:
    question = _text_field(row, "question")
    solution = _text_field(row, "answer")
    gold = gold_from_solution(solution)
    if gold is None:
        raise DatasetError(f"{row.where()}: 'answer' has no final '#### N' line")
    # GSM8K rows carry no id field, so a problem is usually known by its 0-based line number.
    return Problem(id=row_id(row, ("id", "problem_id")), task="gsm8k", question=question, answer=gold, data=row.data)


def exemplar_from_row(row: SourceRow) -> Exemplar:
    problem = problem_from_row(row)  # same validation as test rows
    solution = _CALCULATOR_NOTE.sub("", _text_field(row, "answer")).strip()
    return Exemplar(problem.question.strip(), solution)


def _as_written(number: str) -> str:
    return number.replace("$", "").replace(" ", "")  # "$ 1,500" -> "1,500"


def _first_number(text: str) -> str | None:
    match = _NUMBER.search(text)
    return _as_written(match.group(0)) if match else None


def _last_number(text: str) -> str | None:
    numbers = _NUMBER.findall(text)
    return _as_written(numbers[-1]) if numbers else None


def _rest_of_line(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def extract_answer(text: str) -> str | None:
    """The number after the last '####', else after 'The answer is'/'answer:', else in the
    last \\boxed{}, else the last number; the text is cut where a next 'Question:' starts."""
    text = text.split("Question:", 1)[0]
    marker = text.rfind(ANSWER_MARKER)
    if marker >= 0 and (found := _first_number(_rest_of_line(text, marker + len(ANSWER_MARKER)))):
        return found
    phrases = list(_ANSWER_PHRASE.finditer(text))
    if phrases and (found := _first_number(_rest_of_line(text, phrases[-1].end()))):
        return found
    boxed = last_boxed_content(text)
    if boxed is not None and (found := _first_number(boxed)):
        return found
    return _last_number(text)


class GSM8KTask(FewShotTask[Exemplar]):
    """Few-shot "Question: ...\\nAnswer: ..." prompts; answers end in '#### N'."""

    name = "gsm8k"
    default_stop: tuple[str, ...] = ("\n\nQuestion:", "Question:")
    builtin_exemplars = BUILTIN_EXEMPLARS
    chat_instruction = CHAT_INSTRUCTION
    question_prefix = "Question: "
    answer_cue = "\nAnswer:"
    cue_separator = " "

    def _problem(self, row: SourceRow) -> Problem:
        return problem_from_row(row)

    def _exemplar(self, row: SourceRow) -> Exemplar:
        return exemplar_from_row(row)

    def _exemplar_texts(self, exemplar: Exemplar) -> tuple[str, str]:
        return exemplar.question, exemplar.solution  # the solution already ends in '#### N'

    def _answer_in(self, text: str) -> str | None:
        return extract_answer(text)
