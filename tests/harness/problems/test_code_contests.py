import json
import random
from pathlib import Path
from typing import Any

import pytest

from harness.config import DatasetConfig
from harness.problems.base import DatasetError
from harness.problems.code_common import detect_language, program_key
from harness.problems.code_contests import CodeContestsCppTask, CodeContestsTask
from harness.problems.contest_specs import contest_spec, time_limit_seconds
from harness.simulated import output_maker

SUM_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
SUM_CPP = "#include <iostream>\nint main() {\n    long long a, b;\n    std::cin >> a >> b;\n    std::cout << a + b << std::endl;\n}\n"

# DeepMind's native shape (written for these tests).
NATIVE = {
    "name": "9999_A. Add Two", "description": "Print the sum of two integers a and b.\n\nInput\n\nTwo integers.",
    "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
    "private_tests": {"input": ["10 -4\n"], "output": ["6\n"]},
    "generated_tests": {"input": ["0 0\n", "1000000000 1000000000\n"], "output": ["0\n", "2000000000\n"]},
    "time_limit": {"seconds": 2, "nanos": 500000000}, "memory_limit_bytes": 256000000,
    "solutions": {"language": [2, 3, 1], "solution": [SUM_CPP, SUM_PY, "print sum(map(int, raw_input().split()))"]},
    "incorrect_solutions": {"language": [3], "solution": ["print(0)"]},
}
# The Large Language Monkeys file shape.
MONKEYS = {
    "name": "9998_B. Double", "question": "Print twice the integer n.",
    "prompt": "Q: Write python code ...:\nPrint n.\nA: ```print(input())```\nQ: Write python code ...:\nPrint twice the integer n.\nA:",
    "samples": [" ```print(2 * int(input()))```\nQ:"],
    "test_cases": {"input": ["3\n", "-5\n"], "output": ["6\n", "-10\n"]}, "timeout": 2.0,
}
MARKDOWN = {"problem_dir": "md_1", "statement_md": "# Echo\n\nPrint the input.",
            "tests": [{"id": 1, "input": "x", "output": "x"}], "tags": "implementation"}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def load(tmp_path: Path, rows: list[dict[str, Any]] = (NATIVE, MONKEYS, MARKDOWN), task: CodeContestsTask | None = None):
    task = task or CodeContestsTask()
    return task, task.load(DatasetConfig(path=write_jsonl(tmp_path / "cc.jsonl", list(rows))))


def test_three_shapes_load(tmp_path: Path) -> None:
    _, problems = load(tmp_path)
    assert [p.id for p in problems] == ["9999_A. Add Two", "9998_B. Double", "md_1"]
    native, monkeys, markdown = (contest_spec(p.data) for p in problems)
    assert [t.group for t in native.tests] == ["public", "private", "generated", "generated"]
    assert native.time_limit_s == 2.5 and native.memory_limit_bytes == 256000000
    assert native.solutions == {"cpp": (SUM_CPP,), "python": (SUM_PY,)}  # Python 2 left out
    assert monkeys.time_limit_s == 2.0 and len(monkeys.tests) == 2 and monkeys.fewshot_prompt
    assert markdown.tests[0].input == "x" and markdown.time_limit_s is None


def test_stored_row_drops_samples_and_extra_solutions(tmp_path: Path) -> None:
    _, problems = load(tmp_path)
    assert "incorrect_solutions" not in problems[0].data and "samples" not in problems[1].data


@pytest.mark.parametrize(("value", "seconds"), [({"seconds": 1, "nanos": 0}, 1.0), (3, 3.0), (0.5, 0.5),
                                                ({"seconds": 0, "nanos": 0}, None), (None, None)])
def test_time_limits(value: Any, seconds: float | None) -> None:
    assert time_limit_seconds(value) == seconds


@pytest.mark.parametrize(("change", "message"), [
    ({"public_tests": {"input": ["1"], "output": []}}, "1 inputs but 0 outputs"),
    ({"public_tests": None, "private_tests": None, "generated_tests": None}, "no tests"),
    ({"description": ""}, "no problem statement"),
])
def test_bad_rows(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(DatasetError, match=f"line 1: .*{message}"):
        load(tmp_path, [dict(NATIVE, **change)])


def test_prompts(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    assert task.build_prompt(problems[1], chat=False) == MONKEYS["prompt"]  # the file's few-shot prompt
    zero_shot = task.build_prompt(problems[0], chat=False)
    assert zero_shot.startswith("Q: ") and "Python 3" in zero_shot and zero_shot.endswith("Input\n\nTwo integers.\nA:")
    chat = task.build_prompt(problems[0], chat=True)
    assert chat[0]["role"] == "user" and NATIVE["description"] in chat[0]["content"]
    cpp = CodeContestsCppTask().build_prompt(problems[1], chat=False)
    assert "C++17" in cpp and cpp != MONKEYS["prompt"]
    assert task.default_stop == ("\nQ:",)


@pytest.mark.parametrize(("text", "code"), [
    (" ```print(2 * int(input()))````\nQ: next problem", "print(2 * int(input()))"),
    ("```python\nprint(2 * int(input()))\n```", "print(2 * int(input()))"),
    ("Here:\n```python3\nprint(2 * int(input()))\n```\nDone.", "print(2 * int(input()))"),
    ("```\nprint(2 * int(input()))\n", "print(2 * int(input()))"),  # cut by max_tokens: no closing fence
    ("print(2 * int(input()))\n", "print(2 * int(input()))"),  # unfenced but a program
])
def test_extraction(tmp_path: Path, text: str, code: str) -> None:
    task, problems = load(tmp_path)
    candidate = task.extract(problems[1], text)
    assert candidate is not None and candidate.content == code


@pytest.mark.parametrize("text", ["", "I could not solve it.", "```\n```", "x"])
def test_no_code(tmp_path: Path, text: str) -> None:
    task, problems = load(tmp_path)
    assert task.extract(problems[1], text) is None


def test_cpp_is_recognised_and_keyed_by_its_lines(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    fenced = task.extract(problems[0], f"```cpp\n{SUM_CPP}```")
    spaced = task.extract(problems[0], "```c++\n" + SUM_CPP.replace("\n", "   \n\n") + "```")
    assert fenced is not None and spaced is not None
    assert detect_language(fenced.content) == "cpp"
    assert fenced.key == spaced.key == program_key(SUM_CPP, "cpp")
    raw = "#include <cstdio>\nconst char* s = R\"(a\n\nb)\";\nint main() { puts(s); }\n"
    assert program_key(raw, "cpp") == raw.rstrip()  # a raw string: blank lines are content
    assert detect_language(SUM_PY) == "python" and detect_language("#include <x>\nprint(1)\n") == "python"


def test_simulated_outputs_use_a_python_reference(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    simulate = output_maker(task)
    rng = random.Random(5)
    keys = {task.extract(problems[0], simulate(problems[0], True, rng)).key for _ in range(20)}  # type: ignore[union-attr]
    assert keys == {program_key(SUM_PY, "python")}
    wrong = {c.key for _ in range(100) if (c := task.extract(problems[0], simulate(problems[0], False, rng)))}
    assert wrong and program_key(SUM_PY, "python") not in wrong


def test_simulated_outputs_without_a_reference_answer_from_a_table(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    simulate = output_maker(task)
    text = simulate(problems[1], True, random.Random(1))
    candidate = task.extract(problems[1], text)
    assert candidate is not None and "TABLE" in candidate.content


# --- with the sandbox ---------------------------------------------------------------------------------


def test_simulated_outputs_round_trip_through_the_verifier(tmp_path: Path) -> None:
    from harness.verifiers.code import CodeContestsVerifier  # noqa: PLC0415

    task, problems = load(tmp_path)
    simulate = output_maker(task)
    rng = random.Random(9)
    items, intents = [], []
    for problem in problems[:2]:  # a Python reference; a table look-up
        for correct in (True, False):
            for _ in range(40):
                if (candidate := task.extract(problem, simulate(problem, correct, rng))) is not None:
                    items.append((problem, candidate))
                    intents.append(correct)
    verifier = CodeContestsVerifier(workers=2, time_floor_s=0.5, python_time_factor=0.5)
    try:
        verdicts = list(verifier.verify_many(items))
    finally:
        verifier.close()
    assert all(v.passed for v, correct in zip(verdicts, intents, strict=True) if correct)
    wrong = [v for v, correct in zip(verdicts, intents, strict=True) if not correct]
    assert wrong and sum(not v.passed for v in wrong) >= 0.8 * len(wrong)


def test_monkeys_verify_with_python_and_cpp_samples(tmp_path: Path) -> None:
    from harness.cli import main  # noqa: PLC0415

    dataset = write_jsonl(tmp_path / "cc.jsonl", [NATIVE])
    completions = [f"```python\n{SUM_PY}```", f"```cpp\n{SUM_CPP}```", "```cpp\nint main( {}\n```", "```python\nprint(1)\n```"]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"problem_id": NATIVE["name"], "completion": c}) + "\n" for c in completions))
    assert main(["verify", "--task", "code_contests", "--dataset", str(dataset), "--samples", str(samples),
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    verdicts = [json.loads(line) for line in (tmp_path / "out" / "verdicts.jsonl").read_text().splitlines()]
    assert [v["status"] for v in verdicts] == ["passed", "passed", "failed", "failed"]
    assert "compile error" in verdicts[2]["evidence"] and "wrong answer" in verdicts[3]["evidence"]
