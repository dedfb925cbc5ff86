"""CodeContests, Python and C++ (issue 12): a program that exits early or is killed has no
passing output, even when what it printed before is the right answer. Every program here
prints the right answer for every test and then ends badly; each must be FAILED with the way
it ended as evidence. Real sandbox pool and g++."""

from collections.abc import Iterator

import pytest

from harness.problems.code_contests import problem_from_row
from harness.problems.datasets import SourceRow
from harness.records import Candidate, VerdictStatus
from harness.verifiers.code import CodeContestsVerifier

ROW = {
    "name": "exits_X. Sum", "description": "Print a + b.",
    "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
    "private_tests": {"input": ["5 5\n"], "output": ["10\n"]},
    "time_limit": {"seconds": 1, "nanos": 0}, "memory_limit_bytes": 256 << 20,
}
PROBLEM = problem_from_row(SourceRow("cc.jsonl", 1, 0, ROW))
PY = "import os, signal, sys\na, b = map(int, input().split())\nprint(a + b, flush=True)\n"
CPP = ("#include <bits/stdc++.h>\n#include <unistd.h>\n#include <csignal>\nusing namespace std;\nint main() {\n"
       "    long long a, b;\n    cin >> a >> b;\n    cout << a + b << endl;\n{}\n    return 0;\n}\n")

PYTHON_ENDINGS = {
    "os._exit(3)": (PY + "os._exit(3)\n", "exit status 3"),
    "SIGKILL to itself": (PY + "os.kill(os.getpid(), signal.SIGKILL)\n", "killed by SIGKILL"),
    "sys.exit(1)": (PY + "sys.exit(1)\n", "exit status 1"),
    "an exception after the answer": (PY + "raise RuntimeError('late')\n", "RuntimeError"),
    "buffered answer lost to os._exit(0)": (
        "import os\na, b = map(int, input().split())\nprint(a + b)\nos._exit(0)\n", "expected 1 tokens, got 0"),
    "a thread ends the process before the answer": (
        "import os, threading, time\nthreading.Thread(target=lambda: os._exit(0)).start()\ntime.sleep(0.5)\n"
        "a, b = map(int, input().split())\nprint(a + b)\n", "expected 1 tokens, got 0"),
}
CPP_ENDINGS = {
    "abort()": (CPP.replace("{}", "    abort();"), "killed by SIGABRT"),
    "raise(SIGKILL)": (CPP.replace("{}", "    raise(SIGKILL);"), "killed by SIGKILL"),
    "a segfault": (CPP.replace("{}", "    volatile int *p = nullptr; *p = 1;"), "killed by SIGSEGV"),
    "return 1": (CPP.replace("{}", "    return 1;"), "exit status 1"),
    "buffered answer lost to _exit(0)": (
        CPP.replace("cout << a + b << endl;", "cout << a + b << '\\n';").replace("{}", "    _exit(0);"),
        "expected 1 tokens, got 0"),
}


@pytest.fixture(scope="module")
def verifier() -> Iterator[CodeContestsVerifier]:
    verifier = CodeContestsVerifier(workers=2, time_floor_s=2.0)
    yield verifier
    verifier.close()


@pytest.mark.parametrize("endings", [PYTHON_ENDINGS, CPP_ENDINGS], ids=["python", "cpp"])
def test_the_right_answer_then_a_bad_ending_fails(verifier: CodeContestsVerifier, endings: dict) -> None:
    codes = [code for code, _ in endings.values()]
    verdicts = verifier.verify_many([(PROBLEM, Candidate(problem_id=PROBLEM.id, key=c, content=c)) for c in codes])
    for (name, (_, says)), verdict in zip(endings.items(), verdicts, strict=True):
        assert verdict.status is VerdictStatus.FAILED, (name, verdict)
        assert says in verdict.evidence, (name, verdict.evidence)


def test_the_same_programs_pass_when_they_end_well(verifier: CodeContestsVerifier) -> None:
    good = [PY, CPP.replace("{}", "")]
    verdicts = verifier.verify_many([(PROBLEM, Candidate(problem_id=PROBLEM.id, key=c, content=c)) for c in good])
    assert [v.status for v in verdicts] == [VerdictStatus.PASSED] * 2
