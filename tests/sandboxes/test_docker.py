"""DockerSandbox against the real engine: commands, limits, files, patches, reset, cleanup.

No test here is skipped when Docker is missing: the `docker_engine` fixture sets it up or fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import docker
import pytest
from swebench.harness.grading import get_eval_report
from swebench.harness.utils import make_test_spec

from sandboxes import docker as docker_module
from sandboxes.base import Limits, PrestartsSpare, Sandbox, SandboxUnavailable
from sandboxes.docker import LABEL_RUN, DockerSandbox, cleanup_leftovers, docker_client
from tests.swebench_toy import FAIL_TO_PASS, TOY_FLAKY_TEST, build_toy_instance, toy_patch

REPO_ROOT = Path(__file__).resolve().parents[2]



def processes(box: DockerSandbox) -> list[str]:
    """Command lines of the container's processes, but the shell that lists them."""
    listing = box.exec('for d in /proc/[0-9]*; do [ "${d#/proc/}" = $$ ] || tr "\\0" " " < $d/cmdline; echo; done')
    return sorted(line.strip() for line in listing.stdout.splitlines() if line.strip())


# ---------------------------------------------------------------- commands


def test_is_a_sandbox_and_says_what_isolates_it(toy_box):
    assert isinstance(toy_box, Sandbox)
    assert "no network" in toy_box.isolation


def test_exec_output_exit_code_stdin_and_workdir(toy_box):
    r = toy_box.exec("echo out; echo err >&2; pwd; exit 3")
    assert (r.exit_code, r.stdout, r.stderr, r.timed_out, r.ok) == (3, "out\n/testbed\n", "err\n", False, False)
    assert toy_box.exec(["python3", "-c", "import sys; print(sys.stdin.read()[::-1])"], stdin="abc").stdout == "cba\n"
    assert toy_box.exec("pwd", workdir="calc").stdout == "/testbed/calc\n"
    assert toy_box.exec("cat").stdout == ""  # no stdin: end of file at once, never a hang


def test_stdin_goes_through_the_exec_stream_whole_and_ends(toy_box):
    big = "".join(f"line {i} \u00e9\n" for i in range(200_000))  # 2.6 MB: many times a pipe's buffer
    r = toy_box.exec(["python3", "-c", "import sys, hashlib; d = sys.stdin.buffer.read(); "
                                       "print(len(d), hashlib.sha256(d).hexdigest())"], stdin=big)
    import hashlib  # noqa: PLC0415
    data = big.encode()
    assert r.stdout.split() == [str(len(data)), hashlib.sha256(data).hexdigest()]
    # A command that never reads its stdin neither hangs nor fails; nothing is left in the container.
    assert toy_box.exec("echo done", stdin=big, timeout_s=60).stdout == "done\n"
    assert toy_box.exec("head -c 5", stdin=big).stdout == "line "
    assert toy_box.exec("ls -A /run/monkeys 2>/dev/null | wc -l").stdout.strip() == "0"


def test_exec_timeout_kills_the_whole_process_tree(toy_box):
    before = processes(toy_box)
    r = toy_box.exec("sleep 300 & setsid sleep 301 & (sleep 302 &); echo started; sleep 303", timeout_s=1)
    assert r.timed_out and r.exit_code is None and r.signal == signal.SIGKILL
    assert r.stdout == "started\n"
    assert r.duration_s < 10  # docker waits up to 2 s for the escaped children's output pipes
    assert processes(toy_box) == before  # the setsid'd and double-forked sleeps are gone too
    assert toy_box.exec("echo still usable").stdout == "still usable\n"


def test_client_side_deadline_when_the_in_container_timeout_does_not_fire(toy_box, monkeypatch):
    # As if `timeout` were missing or ignored in the image: the client gives up and kills everything.
    monkeypatch.setattr(DockerSandbox, "_wrap", lambda self, argv, timeout_s, piped: argv)
    monkeypatch.setattr(docker_module, "CLIENT_GRACE_S", 0.5)
    before = processes(toy_box)
    r = toy_box.exec("sleep 60", timeout_s=1)
    assert r.timed_out and r.exit_code is None and r.duration_s < 10
    assert processes(toy_box) == before


def test_signal_death_is_not_a_timeout(toy_box):
    r = toy_box.exec("kill -9 $$", timeout_s=30)
    assert (r.exit_code, r.signal, r.timed_out) == (None, 9, False)


def test_output_is_capped_per_stream(docker_engine, docker_run_id, toy_instance):
    with DockerSandbox(toy_instance[1], limits=Limits(output_bytes=4096), run_id=docker_run_id) as box:
        r = box.exec("head -c 3000000 /dev/zero | tr '\\0' x; echo tail >&2")
    assert r.exit_code == 0 and r.output_truncated
    assert r.stdout == "x" * 4096 and r.stderr == "tail\n"


def test_no_network_inside(toy_box):
    interfaces = toy_box.exec("ls /sys/class/net").stdout.split()
    assert interfaces == ["lo"]
    probe = textwrap.dedent("""
        import socket
        for host in ("1.1.1.1", "172.17.0.1", "deb.debian.org"):
            try:
                socket.create_connection((host, 80), timeout=3)
                print(host, "connected")
            except OSError as exc:
                print(host, "failed", type(exc).__name__)
    """)
    r = toy_box.exec(["python3", "-c", probe], timeout_s=30)
    assert r.stdout.count("failed") == 3, r.stdout


def test_limits_are_in_force(docker_engine, docker_run_id, toy_instance):
    limits = Limits(memory_bytes=256 << 20, processes=40, open_files=100, cpu_s=7, file_size_bytes=1 << 20)
    with DockerSandbox(toy_instance[1], limits=limits, run_id=docker_run_id) as box:
        assert box.exec("ulimit -n; ulimit -t").stdout.split() == ["100", "7"]
        big_file = box.exec("head -c 2000000 /dev/zero > /tmp/big; echo $?")
        assert big_file.stdout.strip() != "0"  # SIGXFSZ: the file-size rlimit
        hog = box.exec(["python3", "-c", "x = bytearray(1 << 30); print('allocated')"], timeout_s=60)
        assert "allocated" not in hog.stdout and not hog.ok  # the cgroup's OOM killer or MemoryError
        forks = box.exec("for i in $(seq 100); do sleep 1 & done; wait", timeout_s=30)
        assert "fork" in forks.stderr or "retry" in forks.stderr  # pids limit: bash cannot fork
        cgroup_pids = box.exec("cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
        assert cgroup_pids.stdout.strip() == "40"


# ---------------------------------------------------------------- files


def test_write_and_read_files(toy_box):
    payload = bytes(range(256)) * 3
    toy_box.write_file("/opt/new/dir/blob.bin", payload)
    assert toy_box.read_file("/opt/new/dir/blob.bin") == payload
    toy_box.write_file("notes.txt", "relative to the workdir\n")
    assert toy_box.exec("cat /testbed/notes.txt").stdout == "relative to the workdir\n"
    toy_box.exec("ln -s calc/ops.py link.py")
    assert toy_box.read_file("link.py") == toy_box.read_file("/testbed/calc/ops.py")
    with pytest.raises(FileNotFoundError):
        toy_box.read_file("/no/such/file")
    with pytest.raises(IsADirectoryError):
        toy_box.read_file("/testbed/calc")


# ---------------------------------------------------------------- patches


def tree_digest(box: DockerSandbox) -> str:
    """Every file of the repo and the git index, hashed: equal digests mean equal trees."""
    return box.exec("find . -path ./.git/objects -prune -o -type f -print0 | sort -z | xargs -0 sha256sum").stdout


@pytest.mark.parametrize(("name", "method"), [
    ("gold", "git apply"),
    ("stale_3way", "git apply --3way"),
    ("fuzzy", "patch --fuzz"),
])
def test_apply_chain_records_the_method(toy_box, name, method):
    result = toy_box.apply_patch(toy_patch(name))
    assert result.applied and result.method == method, result.log
    assert 'raise ValueError("mean() of an empty list")' in toy_box.read_file("calc/ops.py").decode()
    status = toy_box.exec("git status --porcelain").stdout
    assert status == " M calc/ops.py\n"  # changed in the tree, nothing staged, no .orig/.rej files


def test_patch_without_final_newline_applies(toy_box):
    result = toy_box.apply_patch(toy_patch("gold").rstrip("\n"))
    assert result.applied and result.method == "git apply"


BINARY_PATCH = """diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000000000000000000000000000000000000..6b2aaa7640726588bcd3d57e1de4b1315b7f315e
GIT binary patch
literal 16
XcmZ?wbh9u|WMp7u_{ab#|NjHI0#*P3

literal 0
HcmV?d00001

"""


@pytest.mark.parametrize(("patch", "reason"), [
    ("  \n\n", "empty patch"),
    ("\n", "empty patch"),
    (BINARY_PATCH, "binary patch"),
    ("Binary files a/x.png and b/x.png differ\n", "binary patch"),
    ("Here is the fix: make div use true division.\n", "not a diff"),
    ("--- a/calc/ops.py\n+++ b/calc/ops.py\nreturn a / b\n", "not a diff"),
])
def test_rejected_patches_say_why_and_touch_nothing(toy_box, patch, reason):
    before = tree_digest(toy_box)
    result = toy_box.apply_patch(patch)
    assert not result.applied and result.method is None
    assert reason in result.log
    assert tree_digest(toy_box) == before


def test_a_zero_byte_patch_applies_as_the_official_chain_applies_it(toy_box):
    # swebench 5.0.2: every `git apply` refuses it, then `patch` reads no input and exits 0.
    before = tree_digest(toy_box)
    result = toy_box.apply_patch("")
    assert result.applied and result.method == "patch --fuzz"
    assert tree_digest(toy_box) == before


NEW_FILE = """diff --git a/docs/api/calc.md b/docs/api/calc.md
new file mode 100644
index 0000000..d1a3c2e
--- /dev/null
+++ b/docs/api/calc.md
@@ -0,0 +1 @@
+# calc API
"""


def test_failed_chain_undoes_every_attempt(toy_box):
    # README.md applies, docs/api/calc.md is new, calc/ops.py conflicts: --3way would leave README
    # changed, a new file in new directories, conflict markers in ops.py and unmerged index entries
    # behind if a failed try were not undone.
    before = tree_digest(toy_box)
    result = toy_box.apply_patch(toy_patch("conflict") + NEW_FILE)
    assert not result.applied and result.method is None
    assert ">>> git apply --3way" in result.log and ">>> patch --fuzz" in result.log
    assert "Applied patch to 'calc/ops.py' with conflicts" in result.log
    assert tree_digest(toy_box) == before
    assert toy_box.exec("git status --porcelain --ignored").stdout == ""
    assert not toy_box.exec("test -e docs").ok
    assert toy_box.exec("ls /run/monkeys").stdout == ""  # the patch and its backup are gone


def test_patch_for_missing_file_fails_cleanly(toy_box):
    patch = "--- a/nope.py\n+++ b/nope.py\n@@ -1,1 +1,1 @@\n-x = 1\n+x = 2\n"
    result = toy_box.apply_patch(patch)
    assert not result.applied and "no method applied it" in result.log
    assert toy_box.exec("git status --porcelain --ignored").stdout == ""


# ---------------------------------------------------------------- reset


MANIFEST = (
    # Every file on the container's own filesystem (not /proc, /sys, /dev): type, mode, size and,
    # for regular files, content; with the list of processes.
    "find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -printf '%y %m %s %p\\n' | sort; "
    "find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -type f -print0 "
    "| sort -z | xargs -0 sha256sum"
)

DIRTY = """
set -e
cd /testbed
echo 'def add(a, b): return 0' > calc/ops.py          # modified
git rm -q README.md                                    # deleted (and staged)
rm tests/test_flaky.py                                 # deleted
echo 'x = 1' > untracked.py                            # untracked
mkdir -p build calc/__pycache__ && echo bin > build/out && echo pyc > calc/__pycache__/ops.cpython-311.pyc  # ignored
chmod +x calc/__init__.py                              # mode change
git -c user.name=a -c user.email=a@b commit -qam 'moved HEAD'
git stash list > /dev/null; git config core.sneaky true; git branch sneaky
echo leak > /tmp/x; mkdir -p /tmp/d && echo leak > /tmp/d/y   # outside the repo
echo leak > /testbed/../leak                           # the repo's parent
mkdir -p /root/.cache && echo leak > /root/.cache/z
echo 'import sys' > /usr/lib/python3/dist-packages/sneaky.pth  # read by every python start-up
echo leak > /etc/leak
(setsid sleep 1000 > /dev/null 2>&1 &)                # a process left running
"""


def test_reset_restores_every_file_and_process(toy_box, toy_instance):
    before = toy_box.exec(MANIFEST, timeout_s=120)
    procs = processes(toy_box)
    assert before.ok and "/testbed/calc/ops.py" in before.stdout and "/tmp" in before.stdout
    assert toy_box.apply_patch(toy_patch("gold")).applied
    toy_box.write_file("/eval.sh", toy_instance[0]["eval_script"])
    toy_box.exec("bash /eval.sh", timeout_s=120)  # leaves .pytest_cache, __pycache__ behind
    dirty = toy_box.exec(DIRTY, timeout_s=60)
    assert dirty.ok, dirty.stderr
    assert toy_box.exec(MANIFEST, timeout_s=120).stdout != before.stdout
    toy_box.reset()
    after = toy_box.exec(MANIFEST, timeout_s=120)
    assert after.stdout == before.stdout
    assert processes(toy_box) == procs
    assert toy_box.exec("git rev-parse HEAD").stdout.strip() == toy_instance[0]["base_commit"]


def test_reset_cost(docker_engine, docker_run_id, toy_instance):
    """reset() latency: with the prestarted spare (a candidate's test run in between) and without."""
    medians = {}
    for prestart in (True, False):
        with DockerSandbox(toy_instance[1], run_id=docker_run_id, prestart=prestart) as box:
            durations = []
            for _ in range(3):
                box.exec("echo dirty > /tmp/x")
                time.sleep(0.7)  # a candidate's tests run meanwhile
                started = time.monotonic()
                box.reset()
                durations.append(time.monotonic() - started)
                assert box.exec("ls /tmp").stdout == ""
            medians[prestart] = sorted(durations)[1]
    print(f"reset median: {medians[True] * 1000:.0f} ms with a spare, {medians[False] * 1000:.0f} ms without")
    assert medians[True] < medians[False] and medians[False] < 5.0


# ---------------------------------------------------------------- lifecycle and cleanup


def containers_of(client: docker.DockerClient, run_id: str) -> list[str]:
    return [c["Id"] for c in client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})]


def test_reset_last_starts_no_spare_and_a_later_reset_still_works(docker_engine, docker_run_id, toy_instance):
    run_id = f"{docker_run_id}-last"
    with DockerSandbox(toy_instance[1], run_id=run_id) as box:
        assert isinstance(box, PrestartsSpare)
        box._wait_background()
        assert len(containers_of(docker_engine, run_id)) == 2  # the container and its spare
        box.exec("echo dirty > /tmp/x")
        box.reset_last()
        box._wait_background()
        assert containers_of(docker_engine, run_id) == [box.container_id]  # the old one removed, no spare
        assert box.exec("ls /tmp").stdout == ""
        box.exec("echo dirty > /tmp/x")
        box.reset()  # without a spare it starts its container itself
        assert box.exec("ls /tmp").stdout == ""
    assert containers_of(docker_engine, run_id) == []


def test_container_removed_after_an_exception(docker_engine, docker_run_id, toy_instance):
    run_id = f"{docker_run_id}-exception"
    with pytest.raises(ValueError):
        with DockerSandbox(toy_instance[1], run_id=run_id):
            raise ValueError("boom")
    assert containers_of(docker_engine, run_id) == []  # the spare too


def test_container_removed_after_a_timeout(docker_engine, docker_run_id, toy_instance):
    run_id = f"{docker_run_id}-timeout"
    with DockerSandbox(toy_instance[1], run_id=run_id) as box:
        assert box.exec("sleep 60", timeout_s=0.5).timed_out
        box.reset()
    assert containers_of(docker_engine, run_id) == []


def test_container_removed_after_keyboard_interrupt(docker_engine, docker_run_id, toy_instance):
    run_id = f"{docker_run_id}-interrupt"
    with pytest.raises(KeyboardInterrupt):
        with DockerSandbox(toy_instance[1], run_id=run_id):
            raise KeyboardInterrupt
    assert containers_of(docker_engine, run_id) == []


def test_ctrl_c_during_a_command_removes_the_container(docker_engine, docker_run_id, toy_instance):
    run_id = f"{docker_run_id}-ctrl-c"
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    # Python's own Ctrl-C handler, also when the suite was started with SIGINT ignored (in the background)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with DockerSandbox(toy_instance[1], run_id=run_id) as box:
                timer.start()
                box.exec("sleep 60", timeout_s=120)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert containers_of(docker_engine, run_id) == []


def test_closed_sandbox_refuses_work_and_closes_twice(docker_engine, docker_run_id, toy_instance):
    run_id = f"{docker_run_id}-closed"
    box = DockerSandbox(toy_instance[1], run_id=run_id)
    box.close()
    box.close()
    assert containers_of(docker_engine, run_id) == []
    with pytest.raises(RuntimeError):
        box.exec("true")
    with pytest.raises(RuntimeError):
        box.reset()


CHILD = """
import sys, time
from sandboxes.docker import DockerSandbox
box = DockerSandbox(sys.argv[1], run_id=sys.argv[2])
box.reset()
box._wait_background()  # the spare exists before the parent acts
print(box.container_id, flush=True)
if sys.argv[3] == "wait":
    time.sleep(600)
"""


def start_child(image: str, run_id: str, mode: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, image, run_id, mode], stdout=subprocess.PIPE,
                             text=True, cwd=REPO_ROOT, env=env)
    container_id = child.stdout.readline().strip()
    assert container_id, "the child process did not start a sandbox"
    return child, container_id


def test_sigkilled_owner_leaves_containers_that_cleanup_removes(docker_engine, docker_run_id, toy_instance):
    run_id = f"{docker_run_id}-killed"
    with DockerSandbox(toy_instance[1], run_id=docker_run_id) as mine:
        child, orphan = start_child(toy_instance[1], run_id, "wait")
        child.kill()
        child.wait(30)
        left = containers_of(docker_engine, run_id)
        assert orphan in left and len(left) == 2  # SIGKILL runs no handler: the container and its spare stay
        removed = cleanup_leftovers(client=docker_engine)  # no run id: containers whose owner is gone
        assert set(left) <= set(removed) and containers_of(docker_engine, run_id) == []
        assert mine.container_id not in removed and mine.exec("true").ok  # live owners keep theirs


def test_cleanup_by_run_id_removes_live_ones_too(docker_engine, docker_run_id, toy_instance):
    run_id = f"{docker_run_id}-over"
    box = DockerSandbox(toy_instance[1], run_id=run_id, prestart=False)
    assert cleanup_leftovers(run_id, client=docker_engine) == [box.container_id]
    assert containers_of(docker_engine, run_id) == []
    box.close()  # already gone: no error


@pytest.mark.parametrize("how", ["sigterm", "exit"])
def test_sigterm_or_exit_without_close_removes_the_containers(docker_engine, docker_run_id, toy_instance, how):
    run_id = f"{docker_run_id}-{how}"
    child, _ = start_child(toy_instance[1], run_id, "wait" if how == "sigterm" else "exit")
    if how == "sigterm":
        child.terminate()
    assert child.wait(60) == (-signal.SIGTERM if how == "sigterm" else 0)
    assert containers_of(docker_engine, run_id) == []


# ---------------------------------------------------------------- errors


def test_unreachable_engine_says_how_to_start_one(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(SandboxUnavailable, match="scripts/setup_docker.sh"):
        docker_client()


def test_missing_image_says_how_to_build_it(docker_engine, docker_run_id):
    with pytest.raises(SandboxUnavailable, match="swebench images build"):
        DockerSandbox("monkeys-test/no-such-image:1", run_id=docker_run_id, client=docker_engine)


# ---------------------------------------------------------------- the toy SWE-bench instance


def grade(box: DockerSandbox, row: dict, patch_name: str, env: str = "") -> dict:
    """Apply a toy patch, run the row's eval script, grade the log with swebench 5's own grader."""
    assert box.apply_patch(toy_patch(patch_name)).applied
    spec = make_test_spec(row)
    box.write_file("/eval.sh", spec.eval_script)
    out = box.exec(f"{env} bash /eval.sh", timeout_s=120)
    with tempfile.NamedTemporaryFile("w", suffix=".log") as log:
        log.write(out.stdout + out.stderr)
        log.flush()
        pred = {"instance_id": row["instance_id"], "model_patch": toy_patch(patch_name), "model_name_or_path": "t"}
        report = get_eval_report(spec, pred, log.name, include_tests_status=True)[row["instance_id"]]
    box.reset()
    return report | {"log": out.stdout}


def test_toy_row_is_a_swebench5_row(toy_instance):
    row, image = toy_instance
    assert row["image"] == image and row["log_parser"] == "parse_log_pytest" and row["eval_type"] == "pass_and_fail"
    assert json.loads(row["FAIL_TO_PASS"]) == FAIL_TO_PASS and len(json.loads(row["PASS_TO_PASS"])) == 6
    spec = make_test_spec(row)
    assert spec.FAIL_TO_PASS == FAIL_TO_PASS and spec.image == image


@pytest.mark.parametrize(("patch_name", "resolved"), [("gold", True), ("partial", False), ("wrong", False)])
def test_toy_patches_grade_as_intended(toy_box, toy_instance, patch_name, resolved):
    report = grade(toy_box, toy_instance[0], patch_name, env="CALC_FLAKY_RATE=0")
    assert report["patch_successfully_applied"] and report["resolved"] is resolved
    assert not report["tests_status"]["PASS_TO_PASS"]["failure"]


def test_toy_flaky_test_is_run_and_pinnable(toy_box, toy_instance):
    failing = grade(toy_box, toy_instance[0], "gold", env="CALC_FLAKY_RATE=1")
    assert f"FAILED {TOY_FLAKY_TEST}" in failing["log"] and failing["resolved"]  # in neither list
    passing = grade(toy_box, toy_instance[0], "gold", env="CALC_FLAKY_RATE=0")
    assert f"PASSED {TOY_FLAKY_TEST}" in passing["log"]


def test_toy_image_is_cached_by_content(docker_engine, toy_instance):
    started = time.monotonic()
    row, image = build_toy_instance(docker_engine)
    assert (row, image) == toy_instance
    assert time.monotonic() - started < 5


def test_exit_cleanup_removes_a_registered_container_no_sandbox_closed(docker_engine, docker_run_id, toy_instance):
    # A container created and registered, whose sandbox never got to own it (interrupted between the two).
    from sandboxes import docker_engine as engine

    container = docker_engine.containers.create(toy_instance[1], command=["sleep", "infinity"],
                                                labels={"monkeys.sandbox": "docker", LABEL_RUN: docker_run_id})
    engine.register(container.id, docker_engine)
    engine._remove_all_live()
    with pytest.raises(docker.errors.NotFound):
        docker_engine.containers.get(container.id)
