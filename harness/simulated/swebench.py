"""Simulated SWE-bench outputs: the gold patch in varied wrappings, or a plausible wrong patch derived from it
(one hunk left out, an added line missing, or context that is not there, so it does not apply)."""

from __future__ import annotations

import random

from harness.problems.patches import FilePatch, Hunk, parse_patch, render
from harness.records import Problem

_RIGHT_PREAMBLES = (
    "The problem is in the code path the issue describes. Here is a fix:",
    "I traced the issue to its cause; this patch fixes it.",
    "Here is the patch:",
    "",
)
_WRONG_PREAMBLES = (
    "This patch should fix the issue:",
    "I believe the bug is here; the fix:",
    "Here is the patch:",
)


class SWEBenchOutputs:
    """Made from the problem's gold patch alone: nothing to keep between outputs."""

    def __call__(self, problem: Problem, correct: bool, rng: random.Random) -> str:
        return swebench_output(problem, correct, rng)


def swebench_output(problem: Problem, correct: bool, rng: random.Random) -> str:
    """The gold patch (in varied wrappings) when correct, else a plausible wrong patch derived from it."""
    gold = str(problem.data.get("patch") or "")
    if correct:
        return _fenced(rng.choice(_RIGHT_PREAMBLES), gold) if rng.random() < 0.8 else gold
    files = _gold_files(problem)
    makers = [revert_one_hunk, drop_added_line, drop_added_line, break_context]
    rng.shuffle(makers)
    for make in makers:
        wrong = make(files, rng)
        if wrong:
            return _fenced(rng.choice(_WRONG_PREAMBLES), wrong)
    return "I could not find the cause of this issue in the repository."


def _gold_files(problem: Problem) -> list[FilePatch]:
    gold = problem.data.get("patch")
    if not isinstance(gold, str):
        return []
    try:
        return parse_patch(gold)
    except Exception:  # noqa: BLE001 - an unparseable gold patch: no wrong variants, only the gold
        return []


def _hunks(files: list[FilePatch]) -> list[tuple[int, int]]:
    return [(f, h) for f, file_patch in enumerate(files) for h in range(len(file_patch.hunks))]


def _copy(files: list[FilePatch]) -> list[FilePatch]:
    return [FilePatch(list(f.header_lines), [Hunk(h.old_start, h.old_len, h.new_start, h.new_len, list(h.lines)) for h in f.hunks])
            for f in files]


def revert_one_hunk(files: list[FilePatch], rng: random.Random) -> str | None:
    """A partial fix: one hunk of the gold patch left out."""
    hunks = _hunks(files)
    if len(hunks) < 2:
        return None
    f, h = rng.choice(hunks)
    wrong = _copy(files)
    del wrong[f].hunks[h]
    return render([file_patch for file_patch in wrong if file_patch.hunks], canonical_headers=False)


def drop_added_line(files: list[FilePatch], rng: random.Random) -> str | None:
    """A wrong fix: one added line of the gold patch missing."""
    added = [(f, h, i) for f, h in _hunks(files) for i, line in enumerate(files[f].hunks[h].lines)
             if line.startswith("+") and line[1:].strip()]
    if not added:
        return None
    f, h, i = rng.choice(added)
    wrong = _copy(files)
    hunk = wrong[f].hunks[h]
    del hunk.lines[i]
    hunk.new_len -= 1
    return render(wrong, canonical_headers=False)


def break_context(files: list[FilePatch], rng: random.Random) -> str | None:
    """A patch written against code that is not there: it does not apply."""
    context = [(f, h, i) for f, h in _hunks(files) for i, line in enumerate(files[f].hunks[h].lines)
               if line.startswith(("-", " ")) and line[1:].strip()]
    if not context:
        return None
    f, h, i = rng.choice(context)
    wrong = _copy(files)
    line = wrong[f].hunks[h].lines[i]
    wrong[f].hunks[h].lines[i] = line.rstrip("\n") + f"  # edited {rng.randrange(10**6)}\n"
    return render(wrong, canonical_headers=False)


def _fenced(preamble: str, patch: str) -> str:
    body = patch if patch.endswith("\n") else patch + "\n"
    return (preamble + "\n\n" if preamble else "") + "```diff\n" + body + "```\n"
