"""Test doubles that run inside Ray workers: the toy task, with a way to kill the worker it runs in.

A kill is armed by an environment variable naming a marker file, read when the task (or its
verifier) is built in the test process and pickled to the workers with it. The first call in a
process other than the test's own creates the marker and SIGKILLs that process, as an OOM
killer or a lost node would; the retry finds the marker and carries on. The marker proves the
kill happened.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from harness.records import Candidate, Problem, Verdict
from tests.harness.toy_task import ExactVerifier, ToyTask

KILL_SAMPLING_ENV = "MONKEYS_TEST_KILL_SAMPLING"  # marker file: kill the worker sampling problem KILL_PROBLEM
KILL_VERIFY_ENV = "MONKEYS_TEST_KILL_VERIFY"  # marker file: kill the worker verifying a candidate of KILL_PROBLEM
SLOW_ENV = "MONKEYS_TEST_SLOW_SAMPLE_S"  # seconds each simulated sample takes
KILL_PROBLEM = "p3"


def kill_once(marker: str | None, driver_pid: int) -> None:
    """SIGKILL this process the first time, unless it is the test process itself."""
    if marker is None or os.getpid() == driver_pid:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # one winner, even between processes
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


class KillingVerifier(ExactVerifier):
    def __init__(self) -> None:
        self.kill_marker = os.environ.get(KILL_VERIFY_ENV)
        self.driver_pid = os.getpid()

    def verify(self, problem: Problem, candidate: Candidate) -> Verdict:
        if problem.id == KILL_PROBLEM:
            kill_once(self.kill_marker, self.driver_pid)
        return super().verify(problem, candidate)


class KillingToyTask(ToyTask):
    """The toy task; armed, it kills a Ray worker once while sampling or verifying."""

    def __init__(self) -> None:
        self.kill_marker = os.environ.get(KILL_SAMPLING_ENV)
        self.slow_s = float(os.environ.get(SLOW_ENV, "0"))
        self.driver_pid = os.getpid()

    def verifier(self) -> KillingVerifier:
        return KillingVerifier()

    def simulate_output(self, problem: Problem, correct: bool, rng: random.Random) -> str:
        if problem.id == KILL_PROBLEM:
            kill_once(self.kill_marker, self.driver_pid)
        if self.slow_s:
            time.sleep(self.slow_s)
        return super().simulate_output(problem, correct, rng)


def killed_pid(marker: Path) -> int:
    return int(marker.read_text())


class FakeVLLMToyTask(ToyTask):
    """The toy task for runs with backend vllm: wherever it is unpickled (a Ray worker), the fake vllm is installed."""

    def __init__(self) -> None:
        self.fake_vllm = True  # some state, so that unpickling calls __setstate__

    def __setstate__(self, state: dict) -> None:
        from tests.harness.models import fake_vllm  # noqa: PLC0415

        fake_vllm.install()
        self.__dict__.update(state)
