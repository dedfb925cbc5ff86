"""Tests x candidates in warm containers (`sandboxes.docker.DockerSandbox`), each pair run once.

Tests are pytest files kept outside the repository (/tmp/monkeys_tests), so a candidate's tree and
the tests never mix. `triage` runs every test alone on the base commit: a test that does not
compile, hangs (a fork bomb meets the pids limit and hangs too), floods its output, changes the
repository (deletes it, rewrites sources), leaves processes running after it, or kills the
container is discarded with its evidence and the container is reset. `matrix` then gives each
candidate one container (a prestarted spare swapped in by `reset()`), applies the patch once and
runs all surviving tests in one pytest process; when that run times out, floods, damages the tree,
leaves processes or kills the container, that candidate's tests run again one by one in fresh
containers, so one bad (test, candidate) pair cannot take the others with it.
`fresh_pair` is the official harness's way, for the benchmark: a new container per pair.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from docker.errors import APIError
from pydantic import BaseModel, Field

from sandboxes.base import ExecResult, Limits
from sandboxes.docker import DockerSandbox

TEST_DIR = "/tmp/monkeys_tests"
# The tree's state: a test that changes it (deletes files, rewrites sources) is caught by this.
FINGERPRINT = "cd /testbed && { git status --porcelain --untracked-files=no; git diff HEAD; } | md5sum"
# Processes other than docker-init, the keeper (its first child) and this check: a test's leftovers.
STRAYS = ('keep=" 1 $(cut -d" " -f1 /proc/1/task/1/children 2>/dev/null) $$ $PPID "; n=0; '
          'for d in /proc/[0-9]*; do p=${d#/proc/}; case "$keep" in *" $p "*) ;; *) [ -e "$d" ] && n=$((n+1));; esac; '
          'done; echo "$n"')
KILLED = "the container stopped (the test killed its processes)"
# The keeper (docker-init's only child) still runs: else the container is going down, whatever answers now.
ALIVE = 'test -n "$(cat /proc/1/task/1/children 2>/dev/null)" && echo alive'
_RESULT = re.compile(r"^(PASSED|FAILED|ERROR) (\S+?)(?:::(\S+))?(?: - .*)?$", re.MULTILINE)


class GeneratedTest(BaseModel):
    name: str  # a file-name-safe identifier
    source: str

    @property
    def path(self) -> str:
        return f"{TEST_DIR}/test_{self.name}.py"


class PairOutcome(BaseModel):
    test: str
    candidate: int | None  # None: the base commit
    passed: bool
    evidence: str = ""


class Discarded(BaseModel):
    test: str
    reason: str
    evidence: str = ""


class MatrixResult(BaseModel):
    outcomes: list[PairOutcome] = Field(default_factory=list)
    discarded: list[Discarded] = Field(default_factory=list)
    executions: int = 0  # (test, candidate) pairs executed, base included
    container_s: float = 0.0
    wall_s: float = 0.0

    def passed(self, test: str, candidate: int | None) -> bool:
        return any(o.passed for o in self.outcomes if o.test == test and o.candidate == candidate)


def pytest_command(paths: Sequence[str]) -> str:
    files = " ".join(shlex.quote(p) for p in paths)
    return f"cd /testbed && python3 -m pytest -rA -q -p no:cacheprovider --rootdir {TEST_DIR} {files} 2>&1"


def file_results(output: str, tests: Sequence[GeneratedTest]) -> dict[str, bool]:
    """Per test file: passed when a test function of it passed and none failed or errored."""
    seen: dict[str, set[str]] = {}
    for kind, path, _ in _RESULT.findall(output):
        seen.setdefault(path.rsplit("/", 1)[-1], set()).add(kind)
    return {t.name: seen.get(f"test_{t.name}.py", set()) == {"PASSED"} for t in tests}


def _tail(result: ExecResult, chars: int = 600) -> str:
    status = (f"exit {result.exit_code}, signal {result.signal}, {result.duration_s:.1f}s"
              f"{', timed out' if result.timed_out else ''}{', output cut' if result.output_truncated else ''}")
    return f"[{status}]\n" + (result.stdout + result.stderr)[-chars:]


class WarmMatrix:
    def __init__(self, image: str, *, workers: int = 2, timeout_s: float = 120.0,
                 limits: Limits | None = None, sandbox: Callable[[str], DockerSandbox] | None = None) -> None:
        self.image = image
        self.workers = workers
        self.timeout_s = timeout_s
        self.limits = limits or Limits(wall_s=timeout_s, cpu_s=int(timeout_s), memory_bytes=4 << 30,
                                       processes=256, output_bytes=256 << 10)
        self._sandbox = sandbox or (lambda image: DockerSandbox(image, limits=self.limits))

    def _prepare(self, box: DockerSandbox, patch: str | None, tests: Sequence[GeneratedTest]) -> str | None:
        """Applies the patch and writes the tests; returns why it could not, or None."""
        if patch:
            applied = box.apply_patch(patch)
            if not applied.applied:
                return "patch does not apply: " + applied.log[-300:]
        for test in tests:
            box.write_file(test.path, test.source)
        return None

    def _run_checked(self, box: DockerSandbox, tests: Sequence[GeneratedTest],
                     before: str) -> tuple[ExecResult | None, str | None]:
        """Writes and runs `tests` in one pytest process; the run and what was wrong with it, or None.
        The run is None when the container stopped under it (a test killed its processes)."""
        try:
            for test in tests:
                box.write_file(test.path, test.source)
            run = box.exec(pytest_command([t.path for t in tests]), timeout_s=self.timeout_s)
            if run.timed_out:
                return run, "hangs (timed out)"
            if run.output_truncated:
                return run, "floods its output"
            if box.exec(ALIVE, workdir="/").stdout.strip() != "alive":
                return run, "kills the container"
            if box.exec(FINGERPRINT).stdout != before:
                return run, "changes the repository"
            strays = box.exec(STRAYS, workdir="/").stdout.strip()
            if strays != "0":
                return run, f"leaves {strays or 'unknown'} processes running"
            return run, None
        except APIError:  # the engine refuses: the container is not running any more
            return None, "kills the container"

    def triage(self, tests: Sequence[GeneratedTest]) -> tuple[list[GeneratedTest], MatrixResult]:
        """Each test alone on the base commit; keeps those that run cleanly and FAIL there."""
        result = MatrixResult()
        kept: list[GeneratedTest] = []
        started = time.monotonic()
        runnable = []
        for test in tests:
            try:
                compile(test.source, test.path, "exec")
                runnable.append(test)
            except (SyntaxError, ValueError) as exc:
                result.discarded.append(Discarded(test=test.name, reason="does not parse", evidence=str(exc)))
        with self._sandbox(self.image) as box:
            before = box.exec(FINGERPRINT).stdout
            for test in runnable:
                run, reason = self._run_checked(box, [test], before)
                result.executions += 1
                result.container_s += run.duration_s if run else 0.0
                if reason is not None:
                    result.discarded.append(Discarded(test=test.name, reason=reason,
                                                      evidence=_tail(run) if run else KILLED))
                    box.reset()
                    before = box.exec(FINGERPRINT).stdout
                    continue
                passed = file_results(run.stdout, [test])[test.name]
                result.outcomes.append(PairOutcome(test=test.name, candidate=None, passed=passed, evidence=_tail(run, 300)))
                if passed:
                    result.discarded.append(Discarded(test=test.name, reason="passes on the base commit",
                                                      evidence=_tail(run, 300)))
                else:
                    kept.append(test)
                box.exec(f"rm -f {shlex.quote(test.path)}")
        result.wall_s = time.monotonic() - started
        return kept, result

    def _candidate(self, box: DockerSandbox, index: int, patch: str,
                   tests: Sequence[GeneratedTest]) -> tuple[list[PairOutcome], int, float]:
        box.reset()
        problem = self._prepare(box, patch, [])
        if problem is not None:
            return [PairOutcome(test=t.name, candidate=index, passed=False, evidence=problem) for t in tests], 0, 0.0
        run, reason = self._run_checked(box, tests, box.exec(FINGERPRINT).stdout)
        if reason is None and run is not None:
            verdicts = file_results(run.stdout, tests)
            return ([PairOutcome(test=t.name, candidate=index, passed=verdicts[t.name]) for t in tests],
                    len(tests), run.duration_s)
        outcomes, seconds = [], run.duration_s if run else 0.0
        for test in tests:  # one bad pair: the rest again one by one, each in a clean container
            box.reset()
            self._prepare(box, patch, [])
            alone, why = self._run_checked(box, [test], box.exec(FINGERPRINT).stdout)
            seconds += alone.duration_s if alone else 0.0
            # a pair that hangs, floods, damages or kills fails; its verdict is what pytest said otherwise
            ok = alone is not None and why is None and file_results(alone.stdout, [test])[test.name]
            evidence = "" if ok else f"{why or 'failed'}: " + (_tail(alone, 300) if alone else KILLED)
            outcomes.append(PairOutcome(test=test.name, candidate=index, passed=ok, evidence=evidence))
        box.reset()  # the last pair may have stopped this container
        return outcomes, len(tests), seconds

    def matrix(self, candidates: dict[int, str], tests: Sequence[GeneratedTest]) -> MatrixResult:
        """Every (test, candidate) pair once; `workers` warm containers share the candidates."""
        result = MatrixResult()
        if not tests or not candidates:
            return result
        started = time.monotonic()
        items = list(candidates.items())
        shards = [items[w::self.workers] for w in range(self.workers)]

        def work(shard: list[tuple[int, str]]) -> list[tuple[list[PairOutcome], int, float]]:
            if not shard:
                return []
            with self._sandbox(self.image) as box:
                return [self._candidate(box, index, patch, tests) for index, patch in shard]

        with ThreadPoolExecutor(self.workers) as pool:
            for done in pool.map(work, shards):
                for outcomes, executions, seconds in done:
                    result.outcomes += outcomes
                    result.executions += executions
                    result.container_s += seconds
        result.wall_s = time.monotonic() - started
        return result


def fresh_pair(image: str, patch: str, test: GeneratedTest, limits: Limits, timeout_s: float) -> PairOutcome:
    """One pair the way the official harness runs an evaluation: a new container, used once."""
    with DockerSandbox(image, limits=limits, prestart=False) as box:
        if patch:
            applied = box.apply_patch(patch)
            if not applied.applied:
                return PairOutcome(test=test.name, candidate=0, passed=False, evidence="patch does not apply")
        box.write_file(test.path, test.source)
        run = box.exec(pytest_command([test.path]), timeout_s=timeout_s)
        return PairOutcome(test=test.name, candidate=0, passed=file_results(run.stdout, [test])[test.name])
