"""LocalSandbox: the Sandbox protocol (files, patches, reset, close) and hostile commands, one
test per threat; each asserts a failed or timed-out result with evidence, an untouched host,
and a sandbox that still works."""

from __future__ import annotations

import logging
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from sandboxes.base import Limits, Sandbox
from sandboxes.local import LocalSandbox
from tests.sandboxes.hostile import (hide_namespace_tools, host_processes_of_our_uids, host_server, require_bwrap,
                                     secrets)

__all__ = ["host_server", "secrets"]  # fixtures

QUICK = Limits(wall_s=2, cpu_s=2, memory_bytes=512 << 20, processes=32)
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "mod.py").write_text("".join(f"line{i}\n" for i in range(1, 11)))
    (src / "README").write_text("readme\n")
    return src


@pytest.fixture
def box(tree: Path):
    require_bwrap()
    with LocalSandbox(tree, limits=QUICK) as sb:
        yield sb


def works(sb: LocalSandbox) -> None:
    r = sb.exec("echo ok; cat README")
    assert r.ok and r.stdout == "ok\nreadme\n", r


# --- the protocol ----------------------------------------------------------------------------


def test_is_a_sandbox_and_runs_commands(box):
    assert isinstance(box, Sandbox) and box.isolation.startswith("bubblewrap namespaces")
    r = box.exec(["sh", "-c", "pwd; cat; ls"], stdin="in\n")
    assert r.ok and r.stdout == f"{box.root}\nin\nREADME\npkg\n"
    assert box.exec("pwd", workdir="pkg").stdout == f"{box.root}/pkg\n"
    assert box.exec("exit 3").exit_code == 3
    assert box.exec("python3 -c 'print(6 * 7)'").stdout == "42\n"


def test_files_in_and_out(box):
    box.write_file("new/deep/f.txt", "hello")
    box.write_file(f"{box.root}/b.bin", b"\x00\x01")
    assert box.exec("cat new/deep/f.txt; echo more >> new/deep/f.txt").ok
    assert box.read_file("new/deep/f.txt") == b"hellomore\n" and box.read_file("b.bin") == b"\x00\x01"
    with pytest.raises(ValueError):
        box.read_file("../../etc/passwd")
    with pytest.raises(FileNotFoundError):
        box.read_file("missing")


def test_symlinks_made_inside_cannot_lead_the_host_out(box, tmp_path):
    target = tmp_path / "host.txt"
    target.write_text("host")
    assert box.exec(f"ln -s {tmp_path} out; ln -s {target} link").ok
    with pytest.raises(ValueError, match="leads out"):
        box.write_file("out/host.txt", "pwned")
    with pytest.raises(OSError):
        box.write_file("link", "pwned")  # O_NOFOLLOW: never through the link
    with pytest.raises(OSError):
        box.read_file("link")
    assert target.read_text() == "host"


def test_reset_restores_modified_deleted_and_untracked(box):
    r = box.exec("echo changed > pkg/mod.py; rm README; mkdir -p new/dir; echo x > new/dir/f; chmod 000 new/dir; "
                 "ln -s /etc evil")
    assert r.ok, r
    box.write_file("host-written.txt", "x")
    box.reset()
    assert box.exec("find . | sort").stdout == ".\n./README\n./pkg\n./pkg/mod.py\n"
    assert box.read_file("pkg/mod.py").decode().startswith("line1\n")
    works(box)


def test_close_removes_everything(tree):
    require_bwrap()
    sb = LocalSandbox(tree)
    sb.exec("mkdir -p locked/deep && echo x > locked/deep/f && chmod 000 locked/deep locked")
    host_dir, pid = sb._dir, sb._worker.proc.pid
    sb.close()
    assert not os.path.exists(host_dir)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _git_repo(path: Path) -> None:
    subprocess.run([*GIT, "init", "-q", str(path)], check=True)
    subprocess.run([*GIT, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(path), "commit", "-qm", "v1"], check=True)


def _diff(path: Path, rel: str, new_text: str) -> str:
    """A git diff of `rel` changed to `new_text`, leaving the file as it was."""
    old = (path / rel).read_text()
    (path / rel).write_text(new_text)
    diff = subprocess.run([*GIT, "-C", str(path), "diff"], capture_output=True, text=True, check=True).stdout
    (path / rel).write_text(old)
    return diff


def test_apply_patch_plain_git_apply(box):
    patch = ("--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1,3 +1,3 @@\n line1\n-line2\n+LINE2\n line3\n")
    result = box.apply_patch(patch)
    assert result.applied and result.method == "git apply", result
    assert b"LINE2" in box.read_file("pkg/mod.py")


def test_apply_patch_falls_back_to_3way(tree):
    require_bwrap()
    _git_repo(tree)
    lines = (tree / "pkg" / "mod.py").read_text().splitlines(True)
    patch = _diff(tree, "pkg/mod.py", "".join(lines[:1] + ["LINE2\n"] + lines[2:]))
    (tree / "pkg" / "mod.py").write_text("".join(lines[:4] + ["LINE5\n"] + lines[5:]))  # the context moved on
    subprocess.run([*GIT, "-C", str(tree), "commit", "-qam", "v2"], check=True)
    with LocalSandbox(tree) as sb:
        result = sb.apply_patch(patch)
        assert result.applied and result.method == "git apply --3way", result.log
        text = sb.read_file("pkg/mod.py").decode()
        assert "LINE2\n" in text and "LINE5\n" in text and "<<<<" not in text


def test_apply_patch_falls_back_to_fuzz(box):
    patch = ("--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1,6 +1,6 @@\n line1\n-line2\n+LINE2\n line3\n line4\n"
             " line5\n not-line6\n")
    result = box.apply_patch(patch)
    assert result.applied and result.method == "patch --fuzz", result.log
    assert "git apply" in result.log and "LINE2" in box.read_file("pkg/mod.py").decode()


def test_apply_patch_that_fits_nowhere(box):
    patch = "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1,3 +1,3 @@\n nope\n-nothing\n+here\n nada\n"
    result = box.apply_patch(patch)
    assert not result.applied and result.method is None and "patch" in result.log
    assert box.read_file("pkg/mod.py").decode().startswith("line1\nline2\n")  # untouched, no .rej or .orig
    assert box.exec("ls pkg").stdout == "mod.py\n"


# --- one test per threat ----------------------------------------------------------------------


def test_network_is_unreachable(box, host_server):
    r = box.exec(f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {host_server.port}), 1)\"")
    assert r.exit_code == 1 and "ConnectionRefusedError" in r.stderr, r
    r = box.exec("python3 -c \"import socket; socket.getaddrinfo('example.com', 80)\"")
    assert r.exit_code == 1 and "gaierror" in r.stderr, r
    assert host_server.connections == 0
    works(box)


def test_writes_outside_the_tree_do_not_reach_the_host(box, tmp_path):
    host_tmp = Path("/tmp") / f"monkeys-escape-{uuid.uuid4().hex}"
    r = box.exec(f"echo x > {host_tmp}; echo x >> /etc/passwd; echo x > {tmp_path}/x; echo x > /usr/x")
    assert r.exit_code != 0 and "Read-only file system" in r.stderr and "Directory nonexistent" in r.stderr, r
    assert not host_tmp.exists() and not (tmp_path / "x").exists() and "x\n" not in Path("/etc/passwd").read_text()
    works(box)


def test_host_secrets_are_invisible(box, secrets, monkeypatch):
    monkeypatch.setenv("MONKEYS_TEST_SECRET", "SECRET-ENV")
    paths = " ".join(map(str, [*secrets, Path(__file__).resolve()]))
    r = box.exec(f"env; cat {paths}")
    assert r.exit_code != 0 and r.stderr.count("No such file or directory") == 3, r
    assert "SECRET" not in r.stdout
    works(box)


def test_killing_the_parent_fails(box):
    r = box.exec("kill -9 $PPID; kill -9 1; kill -9 -1; echo alive")
    assert "Operation not permitted" in r.stderr or "alive" in r.stdout, r
    works(box)


def test_fork_bomb_is_bounded(box):
    start = time.monotonic()
    r = box.exec("bomb() { bomb | bomb & }; bomb; sleep 30", timeout_s=1.5)
    assert r.timed_out and "wall-clock limit of 1.5 s" in r.stderr, r
    assert time.monotonic() - start < 10 and host_processes_of_our_uids() == []
    works(box)


def test_memory_hog(box):
    r = box.exec("python3 -c 'x = bytearray(4 << 30)'")
    assert r.exit_code == 1 and "MemoryError" in r.stderr, r
    works(box)


def test_many_processes_within_their_address_space_are_bounded_together(box):
    if "a memory limit per worker" not in box.isolation:
        pytest.fail(f"a memory cgroup is expected here (root, cgroup v1): {box.isolation}")
    hog = "python3 -c 'b = bytearray(200 << 20); b[::4096] = bytes(len(b) // 4096); import time; time.sleep(1)'"
    r = box.exec(" & ".join([hog] * 5) + " & wait", timeout_s=10)  # 5 x 200 MiB, each under its 512 MiB
    assert "out-of-memory killer ended" in r.stderr and "512 MiB" in r.stderr, r
    works(box)


def test_infinite_loop(box):
    r = box.exec("while :; do :; done", timeout_s=1)
    assert r.timed_out and "wall-clock limit" in r.stderr
    works(box)


def test_huge_output_is_capped(box):
    sb_limits = box.limits
    box.limits = Limits(wall_s=30, cpu_s=30, output_bytes=64 << 10)
    try:
        r = box.exec("head -c 1073741824 /dev/zero")
    finally:
        box.limits = sb_limits
    assert r.output_truncated and len(r.stdout) == 64 << 10 and "stdout truncated" in r.stderr, r.stderr
    works(box)


def test_rm_rf_everything(box, tmp_path):
    keep = tmp_path / "keep"
    keep.write_text("keep")
    r = box.exec(f"rm -rf --no-preserve-root {box.root} /", timeout_s=2)  # its own tree first, then the rest
    assert (r.exit_code not in (0, None) or r.timed_out) and "Read-only file system" in r.stderr
    assert keep.read_text() == "keep" and os.path.exists("/usr/bin/rm")
    assert box.exec("ls -A").stdout == ""  # its own tree was fair game
    box.reset()
    works(box)


def test_sleep_past_the_timeout(box):
    r = box.exec("echo before; sleep 60", timeout_s=0.5)
    assert r.timed_out and r.exit_code is None and r.stdout == "before\n" and "wall-clock limit" in r.stderr
    works(box)


def test_ignored_sigterm_and_escaped_children(box):
    r = box.exec("trap '' TERM INT HUP; setsid sleep 1000 & while :; do sleep 0.01; done", timeout_s=1)
    assert r.timed_out and "wall-clock limit" in r.stderr
    assert host_processes_of_our_uids() == []
    others = "import os; print([p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid())])"
    assert box.exec(["python3", "-c", others]).stdout == "[]\n"  # only the zygote (pid 1) and itself
    works(box)


def test_input_without_stdin(box):
    r = box.exec("python3 -c 'input()'")
    assert r.exit_code == 1 and "EOFError" in r.stderr


# --- without namespaces -----------------------------------------------------------------------


def test_fallback_is_loud_and_keeps_the_limits(tree, caplog):
    with pytest.MonkeyPatch.context() as mp, caplog.at_level(logging.WARNING, "monkeys.sandboxes"):
        hide_namespace_tools(mp)
        with LocalSandbox(tree, limits=QUICK, unsafe_no_isolation=True) as sb:
            assert sb.isolation.startswith("rlimits only") and sb.root != "/sandbox"
            works(sb)
            r = sb.exec("sleep 30", timeout_s=0.5)
            assert r.timed_out and "wall-clock limit" in r.stderr
            assert sb.exec("python3 -c 'x = bytearray(4 << 30)'").exit_code == 1
            sb.write_file("x", "y")
            sb.reset()
            assert sb.exec("ls").stdout == "README\npkg\n"
    assert any("SANDBOX ISOLATION IS WEAK" in r.message for r in caplog.records)
