"""Regression filter: the repository's own tests that exercise the edited code, run at the base
commit and with each candidate in the instance image; a candidate that breaks a test which passed
before is dropped. The tests are found from the tree alone, never from the instance's hidden test
lists: test files named after an edited module (`pkg/tests/test_mod.py`, `tests/test_mod.py`,
`testing/test_mod.py`, `unittest_mod.py`), else test files that import it (`git grep` in the image:
`from pkg import mod`, `import pkg.mod`, `from pkg.mod import ...`), names holding the module's
first.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable, Sequence

from docker.errors import APIError

from harness.problems.patches import patched_paths
from harness.selection.containers import _RESULT
from harness.selection.records import Pool, SelectionCost, StepRecord
from sandboxes.base import Limits
from sandboxes.docker import DockerSandbox

_TEST_ROOTS = ("tests", "test", "testing")


def module_name(path: str) -> str | None:
    """The dotted module of a repository path (`src/` dropped); None for a package's __init__ (every
    test imports it) or a path that is not a module."""
    parts = path.removesuffix(".py").split("/")
    if parts[0] in ("src", "lib") and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__" or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def import_pattern(dotted: str) -> str:
    """A POSIX extended regex (for `git grep -E`) for a line importing the module `dotted`."""
    parent, _, module = dotted.rpartition(".")
    escaped = dotted.replace(".", "\\.")
    pattern = f"(import|from)[[:space:]]+{escaped}([^[:alnum:]_]|$)"
    if parent:
        pattern += f"|from[[:space:]]+{parent.replace('.', chr(92) + '.')}[[:space:]]+import[[:space:]].*\\b{module}\\b"
    return pattern


def related_test_files(edited: Sequence[str], repo_files: Sequence[str], most: int = 3,
                       importers: Callable[[str], list[str]] | None = None) -> list[str]:
    """Test files of the repository named after the edited (non-test) Python modules of the tree, else
    (with `importers`: a regex -> the test files matching it) the test files that import them."""
    files = set(repo_files)
    by_name: dict[str, list[str]] = {}
    for path in repo_files:
        by_name.setdefault(posixpath.basename(path), []).append(path)
    found: list[str] = []
    for path in edited:
        name = posixpath.basename(path)
        if not path.endswith(".py") or "/tests/" in f"/{path}" or name.startswith("test_") or path not in files:
            continue  # not a module of the tree (an agent's new script) or a test itself
        directory, module = posixpath.split(path)
        hits: list[str] = []
        for wanted in (f"test_{module}", f"unittest_{module}"):
            near = [posixpath.join(directory, root, wanted) for root in _TEST_ROOTS]
            near += [posixpath.join(posixpath.dirname(directory), root, wanted) for root in _TEST_ROOTS]
            hits = hits or [p for p in near if p in files] or sorted(by_name.get(wanted, []))[:1]
        dotted = module_name(path)
        if not hits and importers is not None and dotted is not None:
            stem = module.removesuffix(".py")
            hits = sorted(importers(import_pattern(dotted)), key=lambda p: (stem not in posixpath.basename(p), len(p), p))[:2]
        found += [hit for hit in hits if hit not in found]
    return found[:most]


def passed_tests(output: str) -> set[str]:
    return {f"{path}::{name}" for kind, path, name in _RESULT.findall(output) if kind == "PASSED" and name}


def _command(files: Sequence[str]) -> str:
    return ("cd /testbed && python3 -m pytest -rA -q -p no:cacheprovider " + " ".join(files) + " 2>&1")


class RegressionFilter:
    name = "regression_filter"

    def __init__(self, timeout_s: float = 300.0, limits: Limits | None = None, max_files: int = 3) -> None:
        self.timeout_s = timeout_s
        self.max_files = max_files
        self.limits = limits or Limits(wall_s=timeout_s, cpu_s=int(timeout_s), memory_bytes=4 << 30,
                                       processes=256, output_bytes=4 << 20)

    def _passing_with(self, box: DockerSandbox, patch: str, tests: list[str], before: set[str], cost: SelectionCost,
                      notes: list[str], index: int) -> set[str]:
        """The tests that pass with the candidate applied. A run that breaks some is repeated once and a
        test passing in either run counts as passing: a flaky test alone does not drop a candidate."""
        box.reset()
        passed: set[str] = set()
        try:
            if not box.apply_patch(patch).applied:
                return passed
            for _ in range(2):
                run = box.exec(_command(tests), timeout_s=self.timeout_s)
                cost.test_executions += 1
                cost.container_s += run.duration_s
                passed |= passed_tests(run.stdout)
                if not before - passed or run.timed_out:
                    break
        except APIError:  # the candidate's code stopped the container: it breaks everything it did not pass
            notes.append(f"candidate {index}: the container stopped under its test run")
        return passed

    def apply(self, pool: Pool, alive: list[int]) -> tuple[StepRecord, SelectionCost]:
        record = StepRecord(step=self.name, kept=list(alive))
        cost = SelectionCost()
        if not pool.instance.image:
            record.notes.append("no image for the instance: nothing run, all kept")
            return record, cost
        patches = {c.index: c.patch for c in pool.candidates if c.index in alive}
        with DockerSandbox(pool.instance.image, limits=self.limits) as box:
            repo_files = box.exec("cd /testbed && git ls-files '*.py'", timeout_s=60).stdout.split()
            edited = sorted({p for patch in patches.values() for p in patched_paths(patch)})
            tests = related_test_files(edited, repo_files, self.max_files, importers=lambda pattern: box.exec(
                f"cd /testbed && git grep -l -E {shlex.quote(pattern)} -- '*test*.py'", timeout_s=60).stdout.split())
            if not tests:
                record.notes.append(f"no repository test file found for {', '.join(edited) or 'the edits'}: all kept")
                return record, cost
            base = box.exec(_command(tests), timeout_s=self.timeout_s)
            cost.test_executions += 1
            cost.container_s += base.duration_s
            before = passed_tests(base.stdout)
            record.notes.append(f"tests: {', '.join(tests)}; {len(before)} pass at the base commit")
            if base.timed_out or not before:
                record.notes.append("the base run timed out or passed nothing: all kept")
                return record, cost
            outcome: dict[str, set[str]] = {}  # identical patches run once
            kept = []
            for index, patch in patches.items():
                if patch not in outcome:
                    outcome[patch] = self._passing_with(box, patch, tests, before, cost, record.notes, index)
                broken = before - outcome[patch]
                record.scores[index] = -float(len(broken))
                if broken:
                    record.notes.append(f"candidate {index} breaks {len(broken)}: {', '.join(sorted(broken)[:3])}")
                else:
                    kept.append(index)
            record.kept = kept
        return record, cost

