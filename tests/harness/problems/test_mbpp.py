import json
import random
from pathlib import Path
from typing import Any

import pytest

from harness.config import DatasetConfig
from harness.problems.base import DatasetError
from harness.problems.code_common import python_key
from harness.problems.mbpp import BUILTIN_EXEMPLARS, DONE, MBPPTask, mbpp_spec
from harness.simulated import output_maker

# One row of each MBPP shape (written for these tests).
FULL = {
    "task_id": 11, "text": "Write a function to remove every occurrence of a character from a string.",
    "code": "def remove_char(s, ch):\r\n    return s.replace(ch, '')",
    "test_list": ["assert remove_char('banana', 'a') == 'bnn'", "assert remove_char('abc', 'x') == 'abc'",
                  "assert remove_char('', 'a') == ''"],
    "test_setup_code": "", "challenge_test_list": [],
}
SANITIZED = {
    "source_file": "Benchmark Questions Verification V2.ipynb", "task_id": 12,
    "prompt": "Write a function to find the product of the digits of a positive integer.",
    "code": "import math\ndef digit_product(n):\n    return math.prod(int(d) for d in str(n))",
    "test_imports": ["import math"],
    "test_list": ["assert digit_product(234) == 24", "assert digit_product(7) == 7", "assert digit_product(105) == 0"],
}
PLUS = {
    "task_id": "Mbpp/13",
    "prompt": '"""\nWrite a function to check whether a number is even.\nassert is_even(4) == True\n"""\n',
    "entry_point": "is_even", "canonical_solution": "\ndef is_even(n):\n    return n % 2 == 0\n",
    "base_input": [[4], [7]], "plus_input": [[0], [-3]], "atol": 0, "contract": "",
    "assertion": "\nassert is_even(4) == True\nassert is_even(7) == False\nassert is_even(0) == True\n",
}
ROWS = [FULL, SANITIZED, PLUS]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def load(tmp_path: Path, rows: list[dict[str, Any]] = ROWS, **fields: Any) -> tuple[MBPPTask, list]:
    task = MBPPTask()
    return task, task.load(DatasetConfig(path=write_jsonl(tmp_path / "mbpp.jsonl", rows), **fields))


def test_all_three_shapes_load(tmp_path: Path) -> None:
    _, problems = load(tmp_path)
    assert [p.id for p in problems] == ["11", "12", "Mbpp/13"]
    specs = [mbpp_spec(p.data) for p in problems]
    assert specs[0].reference == "def remove_char(s, ch):\n    return s.replace(ch, '')"
    assert specs[0].shown_tests == tuple(FULL["test_list"])
    assert specs[1].setup == "import math" and specs[1].description == SANITIZED["prompt"]
    assert specs[2].description == "Write a function to check whether a number is even."
    assert specs[2].shown_tests == ("assert is_even(4) == True",)
    assert "is_even(7) == False" in specs[2].tests


def test_rows_without_tests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="line 2: no tests"):
        load(tmp_path, [FULL, dict(FULL, task_id=99, test_list=[])])


def test_completion_prompt_is_few_shot(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    prompt = task.build_prompt(problems[0], chat=False)
    assert isinstance(prompt, str)
    assert prompt.count("You are an expert Python programmer, and here is your task:") == 1 + len(BUILTIN_EXEMPLARS)
    assert prompt.count(DONE) == len(BUILTIN_EXEMPLARS)
    assert prompt.endswith(f"{FULL['text']} Your code should pass these tests:\n\n" + "\n".join(FULL["test_list"]) + "\n[BEGIN]\n")
    assert task.default_stop == (DONE,)


def test_fewshot_rows_from_a_file(tmp_path: Path) -> None:
    shots = write_jsonl(tmp_path / "prompt.jsonl", [SANITIZED])
    task, problems = load(tmp_path, fewshot_path=shots, fewshot_k=1)
    prompt = task.build_prompt(problems[0], chat=False)
    assert "digit_product" in prompt and "sum_of_squares" not in prompt


def test_chat_prompt(tmp_path: Path) -> None:
    task, problems = load(tmp_path, fewshot_k=1)
    messages = task.build_prompt(problems[2], chat=True)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"].startswith("```python\n")
    assert "assert is_even(4) == True" in messages[2]["content"]


@pytest.mark.parametrize("text", [
    "def is_even(n):\n    return n % 2 == 0\n[DONE]\nYou are an expert",
    "```python\ndef is_even(n):\n    return n % 2 == 0\n```\nThis works.",
    "[BEGIN]\ndef is_even(n):\n    return n % 2 == 0\n",
    "def is_even(n):\n\n    return n%2==0   \n[DONE]",
    "def is_even(n):\n    return n % 2 == 0\n\nYou are an expert Python programmer, and here is your task: ...",
])
def test_extraction(tmp_path: Path, text: str) -> None:
    task, problems = load(tmp_path)
    candidate = task.extract(problems[2], text)
    assert candidate is not None
    assert candidate.key == python_key("def is_even(n):\n    return n % 2 == 0\n")


@pytest.mark.parametrize("text", ["", "I am not sure.", "The answer is 42.", "[DONE]"])
def test_no_code(tmp_path: Path, text: str) -> None:
    task, problems = load(tmp_path)
    assert task.extract(problems[0], text) is None


def test_simulated_outputs(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    simulate = output_maker(task)
    rng = random.Random(3)
    for problem in problems:
        reference = python_key(mbpp_spec(problem.data).reference)
        correct = {task.extract(problem, simulate(problem, True, rng)).key for _ in range(30)}  # type: ignore[union-attr]
        assert correct == {reference}
        wrong = {c.key for _ in range(100) if (c := task.extract(problem, simulate(problem, False, rng)))}
        assert wrong and reference not in wrong


def test_simulated_outputs_round_trip_through_the_verifier(tmp_path: Path) -> None:
    from harness.verifiers.code import MBPPVerifier  # noqa: PLC0415

    task, problems = load(tmp_path)
    simulate = output_maker(task)
    rng = random.Random(4)
    items, intents = [], []
    for problem in problems:
        for correct in (True, False):
            for _ in range(40):
                if (candidate := task.extract(problem, simulate(problem, correct, rng))) is not None:
                    items.append((problem, candidate))
                    intents.append(correct)
    verifier = MBPPVerifier(workers=2, timeout_s=1.0)
    try:
        verdicts = list(verifier.verify_many(items))
    finally:
        verifier.close()
    assert all(v.passed for v, correct in zip(verdicts, intents, strict=True) if correct)
    wrong = [v for v, correct in zip(verdicts, intents, strict=True) if not correct]
    assert wrong and sum(not v.passed for v in wrong) >= 0.8 * len(wrong)
