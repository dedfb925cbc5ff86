import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from harness.config import DatasetConfig
from harness.problems.base import DatasetError, Task
from harness.problems.math import BUILTIN_EXEMPLARS, MathTask, extract_answer, final_answer_line
from harness.records import Problem, VerdictStatus
from harness.simulated import output_maker
from harness.verifiers.math import MathVerifier

MATH_ROWS = [  # the MATH test split format: the gold is the last \boxed{} of the solution
    {
        "problem": "What is $\\frac{1}{2} + \\frac{1}{4}$?",
        "level": "Level 1",
        "type": "Prealgebra",
        "solution": "We have $\\frac{1}{2} + \\frac{1}{4} = \\boxed{\\frac{3}{4}}$.",
    },
    {
        "problem": "Solve $x^2 = 4$ for $x > 0$.",
        "level": "Level 2",
        "type": "Algebra",
        "solution": "First $\\boxed{-2}$ is ruled out, leaving $x = \\fbox{2}$.",
    },
    {
        "problem": "Find the set of solutions.",
        "level": "Level 3",
        "type": "Algebra",
        "solution": "It is $\\boxed{\\left\\{ 1, \\frac{2}{3} \\right\\}}$.",
    },
]
MATH500_ROWS = [  # the MATH-500 format: an explicit answer and a unique_id
    {
        "problem": "Compute $\\sqrt{8}$.",
        "solution": "$\\sqrt{8} = \\boxed{2\\sqrt{2}}$.",
        "answer": "2\\sqrt{2}",
        "subject": "Algebra",
        "level": 1,
        "unique_id": "test/algebra/1.json",
    },
    {
        "problem": "Give the interval.",
        "solution": "The interval is $\\boxed{(-\\infty, 3)}$.",
        "answer": "(-\\infty, 3)",
        "subject": "Algebra",
        "level": 3,
        "unique_id": "test/algebra/2.json",
    },
]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def load(path: Path, **fields: Any) -> tuple[MathTask, list[Problem]]:
    task = MathTask()
    return task, task.load(DatasetConfig(path=path, **fields))


# --- loading -------------------------------------------------------------------------------


def test_load_math_rows(tmp_path: Path) -> None:
    _, problems = load(write_jsonl(tmp_path / "test.jsonl", MATH_ROWS))
    assert [p.id for p in problems] == ["0", "1", "2"]
    assert [p.answer for p in problems] == ["\\frac{3}{4}", "2", "\\left\\{ 1, \\frac{2}{3} \\right\\}"]
    assert problems[0].task == "math"
    assert problems[0].data["type"] == "Prealgebra"


def test_load_math500_rows(tmp_path: Path) -> None:
    _, problems = load(write_jsonl(tmp_path / "test.jsonl", MATH500_ROWS))
    assert [p.id for p in problems] == ["test/algebra/1.json", "test/algebra/2.json"]
    assert [p.answer for p in problems] == ["2\\sqrt{2}", "(-\\infty, 3)"]


def test_ids_select_math500_problems(tmp_path: Path) -> None:
    _, problems = load(write_jsonl(tmp_path / "test.jsonl", MATH500_ROWS), ids=["test/algebra/2.json"])
    assert [p.id for p in problems] == ["test/algebra/2.json"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"solution": "\\boxed{1}"}, "line 2: missing or empty 'problem'"),
        ({"problem": "p", "solution": "no box here"}, "line 2: no gold answer"),
        ({"problem": "p", "solution": "unbalanced \\boxed{1"}, "line 2: no gold answer"),
        ({"problem": "p"}, "line 2: no gold answer"),
    ],
)
def test_bad_rows_name_the_line(tmp_path: Path, row: dict[str, str], message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load(write_jsonl(tmp_path / "test.jsonl", [MATH_ROWS[0], row]))


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps(MATH_ROWS[0]) + "\n" + json.dumps(MATH_ROWS[1])[:-3] + "\n")
    with pytest.raises(DatasetError, match=r"test\.jsonl, line 2"):
        load(path)


# --- prompts -------------------------------------------------------------------------------


def test_minerva_prompt(tmp_path: Path) -> None:
    task, problems = load(write_jsonl(tmp_path / "test.jsonl", MATH500_ROWS))
    prompt = task.build_prompt(problems[0], chat=False)
    assert isinstance(prompt, str)
    assert prompt.startswith(f"Problem:\n{BUILTIN_EXEMPLARS[0].problem}\n\nSolution:\n")
    assert prompt.count("Problem:\n") == 5
    assert prompt.count("I hope it is correct.") == 4
    assert "Final Answer: The final answer is $\\frac{2}{15}$. I hope it is correct." in prompt
    assert prompt.endswith("Problem:\nCompute $\\sqrt{8}$.\n\nSolution:")


def test_fewshot_rows_from_file(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", MATH_ROWS)
    task, problems = load(write_jsonl(tmp_path / "test.jsonl", MATH500_ROWS), fewshot_path=train, fewshot_k=2)
    prompt = task.build_prompt(problems[1], chat=False)
    assert prompt.count("Problem:\n") == 3
    assert MATH_ROWS[0]["solution"] in prompt
    assert final_answer_line("\\frac{3}{4}") in prompt
    assert final_answer_line("2") in prompt
    assert BUILTIN_EXEMPLARS[0].problem not in prompt


def test_chat_prompt(tmp_path: Path) -> None:
    task, problems = load(write_jsonl(tmp_path / "test.jsonl", MATH500_ROWS), fewshot_k=1)
    messages = task.build_prompt(problems[0], chat=True)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"].endswith(final_answer_line("7"))
    assert messages[2]["content"] == "Problem:\nCompute $\\sqrt{8}$."


def test_task_protocol() -> None:
    task = MathTask()
    assert isinstance(task, Task)
    assert task.name == "math"
    assert any("Problem:" in stop for stop in task.default_stop)
    assert isinstance(task.verifier(), MathVerifier)


# --- extraction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("So $x=7$.\nFinal Answer: The final answer is $7$. I hope it is correct.", "7"),
        ("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}"),
        ("Final Answer: The final answer is 3.5. I hope it is correct.", "3.5"),
        ("Final Answer: The final answer is $(-\\infty, 3)$.", "(-\\infty, 3)"),  # stopped before "I hope"
        ("The final answer is $\\boxed{12}$.", "12"),
        ("the final answer is $\\$18.90$. I hope it is correct.", "\\$18.90"),
        ("Thus $\\boxed{2}$ works, but the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("We get $\\boxed{\\left\\{ 1, 2 \\right\\}}$", "\\left\\{ 1, 2 \\right\\}"),
        (
            "Final Answer: The final answer is $5$. I hope it is correct.\n\nProblem:\nNext?\n\n"
            "Solution:\nFinal Answer: The final answer is $9$. I hope it is correct.",
            "5",
        ),
    ],
)
def test_extract_answer(text: str, answer: str) -> None:
    assert extract_answer(text) == answer


@pytest.mark.parametrize(
    "text",
    ["", "I am not sure how to do this; maybe 5?", "The answer is 4.", "\\boxed{", "Problem:\n\\boxed{3}"],
)
def test_extract_nothing(text: str) -> None:
    assert extract_answer(text) is None


def test_extract_candidate() -> None:
    problem = Problem(id="p", task="math", question="q", answer="\\frac{3}{4}")
    candidate = MathTask().extract(problem, "Final Answer: The final answer is $\\dfrac34$. I hope it is correct.")
    assert candidate is not None
    assert (candidate.key, candidate.content) == ("3/4", "\\dfrac34")


# --- simulated outputs ---------------------------------------------------------------------

SIM_GOLDS = [
    "7",
    "\\frac{3}{4}",
    "-\\frac{5}{2}",
    "1000",
    "0",
    "\\frac{\\sqrt{21}}{5}",
    "(-\\infty, 3)",
    "\\left( 3, \\frac{\\pi}{2} \\right)",
    "2\\sqrt{2}",
    "\\text{(C)}",
    "\\text{Evelyn}",
    "4343_6",
    "15\\mbox{ cm}^2",
    "\\$18.90",
    "p - q",
    "6 - 5i",
    "\\frac34",
]


def sim_problems() -> list[Problem]:
    return [Problem(id=f"test/{i}.json", task="math", question="q", answer=gold) for i, gold in enumerate(SIM_GOLDS)]


def test_simulated_outputs_round_trip() -> None:
    task, verifier, rng = MathTask(), MathVerifier(), random.Random(0)
    simulate = output_maker(task)
    verdicts: dict[tuple[str, str, bool], bool] = {}  # (problem, key, correct) -> passed; keys repeat
    for problem in sim_problems():
        for _ in range(150):
            correct = rng.random() < 0.5
            candidate = task.extract(problem, simulate(problem, correct, rng))
            if candidate is None:
                assert not correct
                continue
            cache_key = (problem.id, candidate.key, correct)
            if cache_key not in verdicts:
                verdict = verifier.verify(problem, candidate)
                assert verdict.status in (VerdictStatus.PASSED, VerdictStatus.FAILED), verdict.evidence
                verdicts[cache_key] = verdict.passed
            assert verdicts[cache_key] is correct, (problem.answer, candidate.content)


def test_correct_outputs_use_several_spellings() -> None:
    task, rng, problem = MathTask(), random.Random(3), sim_problems()[1]
    simulate = output_maker(task)
    contents = {task.extract(problem, simulate(problem, True, rng)).content for _ in range(300)}
    assert {"\\frac{3}{4}", "\\dfrac{3}{4}", "3/4", "0.75"} <= contents


def test_simulated_wrong_answers_repeat() -> None:
    task, rng, problem = MathTask(), random.Random(1), sim_problems()[5]
    simulate = output_maker(task)
    keys = [c.key for c in (task.extract(problem, simulate(problem, False, rng)) for _ in range(5000)) if c]
    counts = sorted((keys.count(k) for k in set(keys)), reverse=True)
    assert counts[0] > 0.15 * len(keys)
    assert 5 < len(counts) <= 200


def test_simulate_output_is_fast() -> None:
    task, rng, problems = MathTask(), random.Random(2), sim_problems()
    simulate = output_maker(task)
    started = time.perf_counter()
    for i in range(100_000):
        simulate(problems[i % len(problems)], i % 3 == 0, rng)
    assert time.perf_counter() - started < 5.0
