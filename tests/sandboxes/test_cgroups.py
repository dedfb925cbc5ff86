"""Worker cgroups on this machine's real cgroup filesystem (root, cgroup v1 here): they fail,
never skip, where this process may not create cgroups, since the pool's CPU sharing and
memory bound rest on them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from sandboxes.cgroups import PREFIX, CgroupSupport, LongJobShare, WorkerCgroup, detect_cgroups, remove_leftovers


@pytest.fixture(scope="module")
def support() -> CgroupSupport:
    found = detect_cgroups()
    if not (found.cpu and found.memory):
        pytest.fail(f"cgroups with cpu and memory control are expected here: {found.description}")
    return found


def read(cgroup: WorkerCgroup, use: str, name: str) -> str:
    with open(os.path.join(cgroup.dirs[use], name)) as f:
        return f.read().strip()


def weight_file(cgroup: WorkerCgroup) -> str:
    return "cpu.shares" if cgroup.version == 1 else "cpu.weight"


def test_attach_moves_a_process_tree_and_counts_its_cpu(support: CgroupSupport) -> None:
    cgroup = WorkerCgroup(support)
    # a parent and its child, both in the tree that attach() walks
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
                               "print(child.pid, flush=True); time.sleep(30)"], stdout=subprocess.PIPE)
    child = int(parent.stdout.readline())
    try:
        cgroup.attach(parent.pid)
        members = {int(pid) for pid in read(cgroup, "cpu", "cgroup.procs").split()}
        assert members == {parent.pid, child}
        before = cgroup.cpu_usage_s()
        burn = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                                 "while time.process_time() - t < 0.2: pass"])
        cgroup.attach(burn.pid)
        burn.wait()
        assert cgroup.cpu_usage_s() - before >= 0.15  # its CPU time is the cgroup's
    finally:
        os.kill(child, 9)
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while read(cgroup, "cpu", "cgroup.procs") and time.monotonic() < deadline:
        time.sleep(0.05)  # the orphaned child goes when its reaper collects it
    cgroup.remove()
    assert not any(os.path.exists(path) for path in cgroup.dirs.values())


def test_weights_and_memory_limits_reach_the_kernel(support: CgroupSupport) -> None:
    cgroup = WorkerCgroup(support)
    try:
        cgroup.set_weight(0.25)
        assert read(cgroup, "cpu", weight_file(cgroup)) == ("256" if cgroup.version == 1 else "25")
        cgroup.set_weight(1e-6)  # clamped to the kernel's minimum, never refused
        assert int(read(cgroup, "cpu", weight_file(cgroup))) >= 1
        cgroup.set_memory_limit(300 << 20)
        limit_file = "memory.limit_in_bytes" if cgroup.version == 1 else "memory.max"
        assert int(read(cgroup, "memory", limit_file)) == 300 << 20
        assert cgroup.oom_kills() == 0
    finally:
        cgroup.remove()


def test_long_jobs_split_one_weight_and_get_their_own_back(support: CgroupSupport) -> None:
    share = LongJobShare(0.6)
    cgroups = [WorkerCgroup(support) for _ in range(3)]
    try:
        share.demote(cgroups[0])
        assert [c.weight for c in cgroups] == [pytest.approx(0.6), 1.0, 1.0]
        share.demote(cgroups[1])
        share.demote(cgroups[2])
        assert [c.weight for c in cgroups] == [pytest.approx(0.2)] * 3
        share.restore(cgroups[1])
        assert [c.weight for c in cgroups] == [pytest.approx(0.3), 1.0, pytest.approx(0.3)]
        share.restore(cgroups[1])  # twice: no harm
        share.restore(cgroups[0])
        share.restore(cgroups[2])
        assert [c.weight for c in cgroups] == [1.0] * 3
        assert {read(c, "cpu", weight_file(c)) for c in cgroups} == {"1024" if support.version == 1 else "100"}
    finally:
        for cgroup in cgroups:
            cgroup.remove()


def test_leftovers_of_dead_processes_are_removed_and_live_ones_kept(support: CgroupSupport) -> None:
    parent = support.parents["cpu"]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    leftover = os.path.join(parent, f"{PREFIX}{dead}-0")
    live = WorkerCgroup(support)
    os.mkdir(leftover)
    try:
        remove_leftovers(parent)
        assert not os.path.exists(leftover)
        assert os.path.isdir(live.dirs["cpu"])  # ours: this process is alive
    finally:
        live.remove()
        if os.path.exists(leftover):
            os.rmdir(leftover)


def test_without_cgroups_the_support_says_why() -> None:
    assert CgroupSupport(0, why_not="not asked for").description == "no cgroups (not asked for)"
    only_memory = CgroupSupport(1, {"cpu": "/a", "cpuacct": "/b", "memory": "/c"}).only("memory")
    assert only_memory.parents == {"memory": "/c"} and not only_memory.cpu
    assert "memory limit" in only_memory.description and "CPU" not in only_memory.description
