import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from harness.config import DatasetConfig
from harness.problems.base import DatasetError, Task
from harness.problems.code_common import first_code_block, python_key
from harness.problems.humaneval import STOP_SEQUENCES, HumanEvalTask
from harness.records import Problem
from harness.registry import load_task
from harness.simulated import output_maker

# Rows in HumanEval's shape (written for these tests).
ROWS: list[dict[str, Any]] = [
    {
        "task_id": "Demo/0",
        "prompt": 'from typing import List\n\n\ndef running_max(values: List[int]) -> List[int]:\n'
                  '    """ The largest value seen so far, at every position.\n'
                  '    >>> running_max([1, 3, 2, 5])\n    [1, 3, 3, 5]\n    """\n',
        "canonical_solution": "    result = []\n    best = None\n    for value in values:\n"
                              "        if best is None or value > best:\n            best = value\n"
                              "        result.append(best)\n    return result\n",
        "test": "\n\ndef check(candidate):\n    assert candidate([]) == []\n"
                "    assert candidate([1, 3, 2, 5]) == [1, 3, 3, 5]\n    assert candidate([-1, -5, 0]) == [-1, -1, 0]\n",
        "entry_point": "running_max",
    },
    {
        "task_id": "Demo/1",
        "prompt": 'def count_words(text: str) -> int:\n    """ Number of words separated by spaces.\n'
                  "    >>> count_words('a bc  d')\n    3\n    \"\"\"\n",
        "canonical_solution": "    return len(text.split())\n",
        "test": "\n\ndef check(candidate):\n    assert candidate('') == 0\n    assert candidate('a bc  d') == 3\n"
                "    assert candidate(' x ') == 1\n",
        "entry_point": "count_words",
    },
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def load(tmp_path: Path, rows: list[dict[str, Any]] = ROWS, name: str = "he.jsonl") -> tuple[HumanEvalTask, list[Problem]]:
    task = HumanEvalTask()
    return task, task.load(DatasetConfig(path=write_jsonl(tmp_path / name, rows)))


@pytest.mark.parametrize("name", ["he.jsonl", "he.jsonl.gz"])
def test_load(tmp_path: Path, name: str) -> None:
    task, problems = load(tmp_path, name=name)
    assert [p.id for p in problems] == ["Demo/0", "Demo/1"]
    assert problems[0].task == "humaneval" and problems[0].data == ROWS[0]
    assert isinstance(task, Task) and load_task("humaneval").name == "humaneval"


@pytest.mark.parametrize(("field", "message"), [("test", "missing or empty 'test'"), ("entry_point", "'entry_point'")])
def test_bad_rows_name_the_line(tmp_path: Path, field: str, message: str) -> None:
    broken = dict(ROWS[1])
    del broken[field]
    with pytest.raises(DatasetError, match=f"line 2: .*{message}"):
        load(tmp_path, [ROWS[0], broken])


def test_entry_point_must_be_defined_by_the_prompt(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not define entry_point 'nope'"):
        load(tmp_path, [dict(ROWS[0], entry_point="nope")])


def test_prompts(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    assert task.build_prompt(problems[0], chat=False) == ROWS[0]["prompt"]
    messages = task.build_prompt(problems[0], chat=True)
    assert isinstance(messages, list) and messages[0]["role"] == "user"
    block = first_code_block(messages[0]["content"])
    assert block is not None and block.tag == "python" and "def running_max" in block.code
    assert task.default_stop == STOP_SEQUENCES == ("\nclass", "\ndef", "\n#", "\nif", "\nprint")


def test_completion_is_cut_at_the_stop_sequences(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    text = "    return len(text.split())\n\n\ndef helper():\n    pass\n"
    candidate = task.extract(problems[1], text)
    assert candidate is not None
    assert candidate.content == ROWS[1]["prompt"] + "    return len(text.split())\n\n"
    for tail in ("\nif __name__ == '__main__':\n    x()", "\n# tests\n", "\nprint(1)", "\nclass A: pass"):
        cut = task.extract(problems[1], "    return len(text.split())\n" + tail)
        assert cut is not None and cut.key == candidate.key and "helper" not in cut.content


def test_formatting_differences_share_a_key(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    plain = task.extract(problems[1], "    return len(text.split())\n")
    spaced = task.extract(problems[1], "    return len( text.split() )   # words\n\n\n")
    fenced = task.extract(problems[1], f"Sure:\n```python\n{ROWS[1]['prompt']}    return len(text.split())\n```\n")
    assert plain is not None and spaced is not None and fenced is not None
    assert plain.key == spaced.key == fenced.key
    assert plain.content != spaced.content
    different = task.extract(problems[1], "    return len(text.split(' '))\n")
    assert different is not None and different.key != plain.key


def test_fenced_function_gets_the_prompt_imports(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    answer = "```python\ndef running_max(values: List[int]) -> List[int]:\n    return values\n```"
    candidate = task.extract(problems[0], answer)
    assert candidate is not None
    assert candidate.content.startswith("from typing import List\ndef running_max")


def test_fenced_function_gets_the_prompt_helpers(tmp_path: Path) -> None:
    row = dict(ROWS[1], task_id="Demo/2", prompt="def is_space(ch: str) -> bool:\n    return ch == ' '\n\n\n" + ROWS[1]["prompt"])
    task, problems = load(tmp_path, [row])
    answer = "```python\ndef count_words(text: str) -> int:\n    return sum(1 for w in text.split() if not is_space(w))\n```"
    candidate = task.extract(problems[0], answer)
    assert candidate is not None and candidate.content.startswith("def is_space(ch: str) -> bool:\n    return ch == ' '\ndef count_words")
    own = task.extract(problems[0], "```python\ndef is_space(c):\n    return False\ndef count_words(text):\n    return 0\n```")
    assert own is not None and own.content.count("def is_space") == 1


def test_fenced_body_continues_the_prompt(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    candidate = task.extract(problems[1], "```python\n    return len(text.split())\n```")
    assert candidate is not None and candidate.content == ROWS[1]["prompt"] + "    return len(text.split())\n"


@pytest.mark.parametrize("text", ["", "   \n", "I'm not sure how to solve this.", "Let me think step by step. " * 3,
                                  "```python\n```"])
def test_outputs_without_code(tmp_path: Path, text: str) -> None:
    task, problems = load(tmp_path)
    assert task.extract(problems[0], text) is None


def test_introspective_programs_keep_their_text_as_key() -> None:
    a = "import inspect\ndef f():\n    return inspect.currentframe().f_lineno\n"
    b = "import inspect\n\ndef f():\n    return inspect.currentframe().f_lineno\n"
    assert python_key(a) != python_key(b)
    assert python_key("x = 1\n\n\ny = 2  # c\n") == python_key("x=1\ny=2")


def test_simulated_outputs_extract_to_the_reference_or_broken_programs(tmp_path: Path) -> None:
    task, problems = load(tmp_path)
    simulate = output_maker(task)
    rng = random.Random(7)
    for problem in problems:
        reference = python_key(problem.data["prompt"] + problem.data["canonical_solution"])
        correct = {task.extract(problem, simulate(problem, True, rng)).key for _ in range(40)}  # type: ignore[union-attr]
        assert correct == {reference}
        wrong = [task.extract(problem, simulate(problem, False, rng)) for _ in range(300)]
        keys = [c.key for c in wrong if c is not None]
        assert reference not in keys
        assert 2 <= len(set(keys)) and len(keys) >= 250
        # Zipf-like: the most common wrong program is much more common than the rarest.
        counts = sorted((keys.count(k) for k in set(keys)), reverse=True)
        assert counts[0] >= 2 * counts[-1]


# --- with the sandbox: simulated outputs judged, and whole runs --------------------------------


def test_simulated_outputs_round_trip_through_the_verifier(tmp_path: Path) -> None:
    from harness.verifiers.code import HumanEvalVerifier  # noqa: PLC0415

    task, problems = load(tmp_path)
    simulate = output_maker(task)
    rng = random.Random(11)
    items, intents = [], []
    for problem in problems:
        for correct in (True, False):
            for _ in range(60):
                candidate = task.extract(problem, simulate(problem, correct, rng))
                if candidate is not None:
                    items.append((problem, candidate))
                    intents.append(correct)
    verifier = HumanEvalVerifier(workers=2, timeout_s=1.0)
    try:
        verdicts = list(verifier.verify_many(items))
    finally:
        verifier.close()
    assert all(v.passed for v, correct in zip(verdicts, intents, strict=True) if correct)
    wrong = [v for v, correct in zip(verdicts, intents, strict=True) if not correct]
    assert sum(not v.passed for v in wrong) >= 0.8 * len(wrong)  # a variant can be harmless (`<` vs `<=`)


def test_monkeys_run_and_verify(tmp_path: Path) -> None:
    from harness.cli import main  # noqa: PLC0415
    from harness.config import config_from_dict  # noqa: PLC0415
    from harness.pipeline import execute  # noqa: PLC0415

    dataset = write_jsonl(tmp_path / "he.jsonl", ROWS)
    config = config_from_dict({
        "name": "he", "task": "humaneval", "dataset": {"path": str(dataset)},
        "model": {"backend": "simulated", "alpha": 2.0, "beta": 2.0},
        "sampling": {"samples_per_problem": 20, "n_per_request": 10},
    })
    paths = execute(config, tmp_path / "run", show_progress=False)
    report = json.loads(paths["json"].read_text())
    assert report["simulated"] is True and report["task"] == "humaneval"
    lines = [json.loads(line) for line in (tmp_path / "run" / "verdicts.jsonl").read_text().splitlines()]
    assert len(lines) == 40 and any(line["passed"] for line in lines) and not all(line["passed"] for line in lines)

    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"problem_id": "Demo/1", "completion": c}) + "\n" for c in
                               ["    return len(text.split())\n", "    return len(text)\n", "no code here"]))
    assert main(["verify", "--task", "humaneval", "--dataset", str(dataset), "--samples", str(samples),
                 "--out", str(tmp_path / "verified"), "--no-progress"]) == 0
    verdicts = [json.loads(line) for line in (tmp_path / "verified" / "verdicts.jsonl").read_text().splitlines()]
    assert [v["status"] for v in verdicts] == ["passed", "failed", "no_answer"]
