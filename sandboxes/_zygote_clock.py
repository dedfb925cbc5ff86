"""When a job is demoted and when its time is up, from what /proc says about its processes.
Standard library only (it runs inside the sandbox beside `_zygote.py`)."""

from __future__ import annotations

import os

POLL_S = 0.02  # how often a job's CPU time is looked at when a decision depends on it
EXTENSION_LIMITS = 1  # a job owed CPU time runs on for at most this many times its wall clock (JobClock)
CPU_BOUND_SHARE = 0.5  # a job runnable (running or waiting for a CPU) this much of its life wanted CPU
DEMOTED_NICE = 19  # a job past its `demote_after_s` only soaks up CPU that shorter jobs leave idle


def lower_priority(pgid: int, uid: int | None) -> None:
    """Every thread of the job (its uid's processes, else its process group) to SCHED_IDLE
    at nice 19; what they start later inherits both. Vanished tasks are skipped."""
    try:
        if uid is None:
            os.setpriority(os.PRIO_PGRP, pgid, DEMOTED_NICE)
        else:
            os.setpriority(os.PRIO_USER, uid, DEMOTED_NICE)
    except OSError:
        pass
    idle = os.sched_param(0)
    for pid in job_pids(pgid, uid):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setscheduler(int(tid), os.SCHED_IDLE, idle)
            except OSError:
                pass


def process_cpu_s(pid: int) -> float | None:
    """CPU time of a process and its reaped children (None: it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def run_delay_s(pid: int) -> float | None:
    """Time the process's main thread has spent waiting for a CPU while runnable (None: gone)."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def job_pids(pgid: int, uid: int | None) -> list[int]:
    """The job's processes: those of its uid (it has one of its own), else of its process group."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            if uid is not None:
                mine = os.stat(f"/proc/{name}").st_uid == uid
            else:
                with open(f"/proc/{name}/stat", "rb") as f:
                    mine = int(f.read().rsplit(b")", 1)[1].split()[2]) == pgid
        except (OSError, ValueError, IndexError):
            continue
        if mine:
            pids.append(int(name))
    return pids


class JobClock:
    """When a job is demoted and when its time is up.

    The wall clock decides a timeout, with one exception: a job with `guaranteed_cpu_s` that
    reaches its limit having had less CPU time than that, though it wanted a CPU most of the
    time (it was demoted, or the machine was busy), runs on until it has had it, at most
    `EXTENSION_LIMITS` times its limit more. The wait was not its doing: a slow but correct
    program is not timed out for the CPU it was denied. A job that mostly slept gets no more
    time. (CPU time and waiting are its main process's: children it waits for do not count.)"""

    def __init__(self, pid: int, start: float, limits: dict, demote_after_s: float | None,
                 guaranteed_cpu_s: float | None) -> None:
        self.pid, self.start, self.limit_s = pid, start, limits["wall_s"]
        self.limit_at = self.deadline = start + self.limit_s
        self.cap = self.limit_at + EXTENSION_LIMITS * self.limit_s
        self.demote_after_s, self.guaranteed_cpu_s = demote_after_s, guaranteed_cpu_s
        self.demote_at = None if demote_after_s is None else start + demote_after_s
        self.extended_s = 0.0  # past the limit, to make up for waiting
        self.waited_s = 0.0

    def wake_at(self) -> float:
        return self.deadline if self.demote_at is None else min(self.deadline, self.demote_at)

    def demote_due(self, now: float) -> bool:
        """True once the job has used `demote_after_s` of CPU time (looked at when it could have)."""
        if self.demote_at is None or now < self.demote_at:
            return False
        used = process_cpu_s(self.pid)
        if used is None or used >= self.demote_after_s:
            self.demote_at = None
            return used is not None
        self.demote_at = now + max(POLL_S, self.demote_after_s - used)
        return False

    def expired(self, now: float) -> bool:
        """At the deadline: True to end the job; False when it moved on for CPU the job is owed."""
        if now < self.deadline:
            return False
        owed = self.owed_cpu_s(now)
        if owed <= 0 or now >= self.cap:
            return True
        self.deadline = min(self.cap, now + max(POLL_S, owed))  # it cannot use CPU faster than that
        self.extended_s = self.deadline - self.limit_at
        return False

    def owed_cpu_s(self, now: float) -> float:
        """CPU time still owed to a job that has been runnable (running, or waiting for a CPU)
        at least half of its life; a job that mostly slept is owed nothing."""
        if self.guaranteed_cpu_s is None:
            return 0.0
        used, waited = process_cpu_s(self.pid), run_delay_s(self.pid)
        if used is None or waited is None:
            return 0.0
        self.waited_s = waited
        runnable = (used + waited) / max(1e-9, now - self.start)
        return self.guaranteed_cpu_s - used if runnable >= CPU_BOUND_SHARE else 0.0

    def notes(self, timed_out: bool) -> list[str]:
        if not self.extended_s:
            return []
        why = (f"it had waited {self.waited_s:.2f} s for a CPU and is owed {self.guaranteed_cpu_s:g} s of CPU "
               "time before a timeout")
        if timed_out:
            return [f"the wall-clock limit was extended by up to {self.extended_s:.2f} s: {why}"]
        return [f"finished up to {self.extended_s:.2f} s past its wall-clock limit of {self.limit_s:g} s: {why}"]


