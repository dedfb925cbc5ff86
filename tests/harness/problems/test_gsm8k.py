import gzip
import json
import random
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

from harness.config import DatasetConfig
from harness.problems.base import DatasetError, Task
from harness.problems.datasets import read_rows, select_rows
from harness.problems.gsm8k import BUILTIN_EXEMPLARS, GSM8KTask, extract_answer
from harness.records import Problem, VerdictStatus
from harness.simulated import output_maker
from harness.verifiers.math import MathVerifier

ROWS = [
    {"question": "Ann has 3 apples and buys 4 more. How many apples does she have?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"},
    {"question": "A car costs $1,200 more than a bike that costs $300. What does the car cost?", "answer": "300 + 1200 = 1500\n#### 1,500"},
    {"question": "It was 5 degrees and fell by 8 degrees. What is the temperature now?", "answer": "5 - 8 = -3\n#### -3"},
]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def load(path: Path, **fields: Any) -> tuple[GSM8KTask, list[Problem]]:
    task = GSM8KTask()
    return task, task.load(DatasetConfig(path=path, **fields))


# --- reading files -------------------------------------------------------------------------


def test_load_jsonl(tmp_path: Path) -> None:
    _, problems = load(write_jsonl(tmp_path / "test.jsonl", ROWS))
    assert [p.id for p in problems] == ["0", "1", "2"]
    assert [p.answer for p in problems] == ["7", "1500", "-3"]
    assert problems[0].task == "gsm8k"
    assert problems[0].question == ROWS[0]["question"]
    assert problems[1].data == ROWS[1]


def test_row_id_fields_are_honoured(tmp_path: Path) -> None:
    rows = [dict(ROWS[0], id="first"), dict(ROWS[1], problem_id=17)]
    _, problems = load(write_jsonl(tmp_path / "test.jsonl", rows))
    assert [p.id for p in problems] == ["first", "17"]


@pytest.mark.parametrize("name", ["rows.json", "rows.json.gz", "rows.jsonl.gz"])
def test_other_file_formats(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    text = json.dumps(ROWS) if ".json" in name and ".jsonl" not in name else "".join(json.dumps(r) + "\n" for r in ROWS)
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    assert read_rows(DatasetConfig(path=path)) == ROWS


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n\n" + json.dumps(ROWS[1]) + "\n\n")
    assert read_rows(DatasetConfig(path=path)) == ROWS[:2]


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json\n")
    with pytest.raises(DatasetError, match=r"broken\.jsonl, line 2: not valid JSON"):
        read_rows(DatasetConfig(path=path))


def test_non_object_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "list.jsonl", [ROWS[0], [1, 2]])
    with pytest.raises(DatasetError, match="line 2: expected a JSON object"):
        read_rows(DatasetConfig(path=path))


def test_json_file_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps({"rows": ROWS}))
    with pytest.raises(DatasetError, match="expected a JSON list"):
        read_rows(DatasetConfig(path=path))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"not found: .*nowhere\.jsonl"):
        read_rows(DatasetConfig(path=tmp_path / "nowhere.jsonl"))


def test_hub_without_datasets_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(DatasetError, match=r"pip install 'monkeys\[hub\]'"):
        read_rows(DatasetConfig(hub="openai/gsm8k", hub_config="main"))


def test_hub_rows_come_from_load_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def load_dataset(name: str, config: str | None, split: str) -> list[dict[str, Any]]:
        calls.append((name, config, split))
        return ROWS

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    task = GSM8KTask()
    problems = task.load(DatasetConfig(hub="openai/gsm8k", hub_config="main"))
    assert calls == [("openai/gsm8k", "main", "test")]
    assert [p.answer for p in problems] == ["7", "1500", "-3"]


# --- rows and selection --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"question": "How many?"}, "line 2: missing or empty 'answer'"),
        ({"answer": "#### 3"}, "line 2: missing or empty 'question'"),
        ({"question": "How many?", "answer": "It is 3."}, "line 2: 'answer' has no final '#### N'"),
        ({"question": "How many?", "answer": "It is 3.\n####   "}, "line 2: 'answer' has no final '#### N'"),
    ],
)
def test_bad_rows_name_the_line(tmp_path: Path, row: dict[str, str], message: str) -> None:
    path = write_jsonl(tmp_path / "test.jsonl", [ROWS[0], row])
    with pytest.raises(DatasetError, match=message):
        load(path)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "test.jsonl", [dict(ROWS[0], id="a"), dict(ROWS[1], id="a")])
    with pytest.raises(DatasetError, match="'a' appears more than once"):
        load(path)


def test_ids_and_limit(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "test.jsonl", ROWS)
    assert [p.id for p in load(path, ids=["2", "0"])[1]] == ["0", "2"]  # dataset order
    assert [p.id for p in load(path, limit=2)[1]] == ["0", "1"]
    assert [p.id for p in load(path, ids=["2", "1"], limit=1)[1]] == ["1"]


def test_unknown_ids_are_listed(tmp_path: Path) -> None:
    _, problems = load(write_jsonl(tmp_path / "test.jsonl", ROWS))
    config = DatasetConfig(path=tmp_path / "test.jsonl", ids=["0", "9", "x", "y", "z", "w", "v"])
    with pytest.raises(DatasetError, match=r"6 unknown problem id\(s\): '9', 'x', 'y', 'z', 'w' and 1 more"):
        select_rows(problems, config)


# --- prompts -------------------------------------------------------------------------------


def test_completion_prompt_with_builtin_exemplars(tmp_path: Path) -> None:
    task, problems = load(write_jsonl(tmp_path / "test.jsonl", ROWS), fewshot_k=3)
    prompt = task.build_prompt(problems[0], chat=False)
    assert isinstance(prompt, str)
    blocks = prompt.split("\n\n")
    assert len(blocks) == 4
    assert blocks[0] == f"Question: {BUILTIN_EXEMPLARS[0].question}\nAnswer: {BUILTIN_EXEMPLARS[0].solution}"
    assert all(block.startswith("Question: ") for block in blocks)
    assert all("\n#### " in block for block in blocks[:3])
    assert prompt.endswith(f"Question: {ROWS[0]['question']}\nAnswer:")


def test_zero_shot_prompt(tmp_path: Path) -> None:
    task, problems = load(write_jsonl(tmp_path / "test.jsonl", ROWS), fewshot_k=0)
    assert task.build_prompt(problems[0], chat=False) == f"Question: {ROWS[0]['question']}\nAnswer:"


def test_fewshot_rows_from_file(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", ROWS[1:])
    task, problems = load(write_jsonl(tmp_path / "test.jsonl", ROWS[:1]), fewshot_path=train, fewshot_k=1)
    prompt = task.build_prompt(problems[0], chat=False)
    assert prompt == (
        f"Question: {ROWS[1]['question']}\nAnswer: 300 + 1200 = 1500\n#### 1,500\n\n"
        f"Question: {ROWS[0]['question']}\nAnswer:"
    )


def test_fewshot_calculator_notes_are_dropped(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", ROWS[:1])
    task, problems = load(write_jsonl(tmp_path / "test.jsonl", ROWS), fewshot_path=train)
    assert "<<" not in task.build_prompt(problems[1], chat=False)


def test_bad_fewshot_row_names_the_file(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", [{"question": "q", "answer": "no marker"}])
    with pytest.raises(DatasetError, match=r"train\.jsonl, line 1"):
        load(write_jsonl(tmp_path / "test.jsonl", ROWS), fewshot_path=train)


def test_chat_prompt_alternates(tmp_path: Path) -> None:
    task, problems = load(write_jsonl(tmp_path / "test.jsonl", ROWS), fewshot_k=2)
    messages = task.build_prompt(problems[2], chat=True)
    assert isinstance(messages, list)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[-1]["content"] == f"Question: {ROWS[2]['question']}"
    assert messages[1]["content"] == BUILTIN_EXEMPLARS[0].solution
    assert "####" in messages[0]["content"]  # the instruction says how to end


def test_task_protocol() -> None:
    task = GSM8KTask()
    assert isinstance(task, Task)
    assert task.name == "gsm8k"
    assert any("Question:" in stop for stop in task.default_stop)
    assert isinstance(task.verifier(), MathVerifier)


# --- extraction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("She has 3 + 4 = 7 apples.\n#### 7", "7"),
        ("The total is 1200 + 300 = 1500.\n#### $1,500", "1,500"),
        ("#### 72 dollars", "72"),
        ("#### 72.00", "72.00"),
        ("#### -3", "-3"),
        ("It is 12 - 5 = 7 now.\nThe answer is 7.", "7"),
        ("So we get 18 in total. The answer is $18.", "18"),
        ("answer: 42", "42"),
        ("Thus the result is \\boxed{36}.", "36"),
        ("He walks 3 miles, then 4 more, so 7 miles", "7"),
        ("#### 5\n#### 6", "6"),  # the last marker wins
        ("#### 7\n\nQuestion: Bob has 9 pens.\nAnswer: #### 9", "7"),  # ran into the next question
        ("#### seven\nbut really 8", "8"),
    ],
)
def test_extract_answer(text: str, answer: str) -> None:
    assert extract_answer(text) == answer


@pytest.mark.parametrize("text", ["", "I do not know.", "Question: What is 2 + 2?", "%%%% ???"])
def test_extract_nothing(text: str) -> None:
    assert extract_answer(text) is None


def test_extract_candidate_key_is_normalized() -> None:
    problem = Problem(id="1", task="gsm8k", question="q", answer="1500")
    candidate = GSM8KTask().extract(problem, "so\n#### $1,500.00")
    assert candidate is not None
    assert (candidate.problem_id, candidate.key, candidate.content) == ("1", "1500", "1,500.00")
    assert GSM8KTask().extract(problem, "no idea") is None


# --- simulated outputs ---------------------------------------------------------------------

SIM_GOLDS = ["7", "1500", "-3", "0", "1", "18", "1450000", "100"]


def sim_problems() -> list[Problem]:
    return [Problem(id=str(i), task="gsm8k", question="q", answer=gold) for i, gold in enumerate(SIM_GOLDS)]


def test_simulated_outputs_round_trip() -> None:
    task, verifier, rng = GSM8KTask(), MathVerifier(), random.Random(0)
    simulate = output_maker(task)
    for problem in sim_problems():
        for _ in range(200):
            correct = rng.random() < 0.5
            candidate = task.extract(problem, simulate(problem, correct, rng))
            if correct:
                assert candidate is not None
                assert verifier.verify(problem, candidate).passed
            elif candidate is not None:
                assert verifier.verify(problem, candidate).status is VerdictStatus.FAILED


def test_simulated_outputs_are_seeded_and_vary() -> None:
    problem = sim_problems()[1]
    first = [output_maker(GSM8KTask())(problem, i % 2 == 0, random.Random(i)) for i in range(50)]
    again = [output_maker(GSM8KTask())(problem, i % 2 == 0, random.Random(i)) for i in range(50)]
    assert first == again
    assert len(set(first)) > 10


def test_simulated_wrong_answers_repeat() -> None:
    task, rng, problem = GSM8KTask(), random.Random(1), sim_problems()[5]
    simulate = output_maker(task)
    keys = [c.key for c in (task.extract(problem, simulate(problem, False, rng)) for _ in range(5000)) if c]
    counts = sorted((keys.count(k) for k in set(keys)), reverse=True)
    assert counts[0] > 0.15 * len(keys)  # a popular wrong answer
    assert 5 < len(counts) <= 200  # and a bounded long tail
    assert len(keys) < 5000  # some outputs never reach an answer


def test_simulate_output_is_fast() -> None:
    task, rng, problems = GSM8KTask(), random.Random(2), sim_problems()
    simulate = output_maker(task)
    started = time.perf_counter()
    for i in range(100_000):
        simulate(problems[i % len(problems)], i % 3 == 0, rng)
    assert time.perf_counter() - started < 5.0
