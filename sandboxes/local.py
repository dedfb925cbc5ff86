"""LocalSandbox: the Sandbox protocol over a fresh private working directory on this machine.

The directory (a copy of `source`, or empty) is the only writable place the code sees, at
`root` (/sandbox under bubblewrap). Commands run in a long-lived sandboxed worker (see
`sandboxes.isolation` for the tiers and `sandboxes._zygote` for the per-command process
setup), so an `exec` costs a fork, not a sandbox start. Between commands no process of the
sandbox is alive: every one is killed when its command ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sandboxes._worker import GRACE_S, Worker, WorkerFailed, failure_result, to_result
from sandboxes._zygote import remove_tree
from sandboxes.base import ExecResult, Limits, PatchResult
from sandboxes.cgroups import WorkerCgroup, detect_cgroups
from sandboxes.isolation import SANDBOX_ROOT, Layout, detect_isolation
from sandboxes.patching import apply_chain

class LocalSandbox:
    """A private working tree plus a sandboxed worker that runs commands in it."""

    def __init__(self, source: str | Path | None = None, *, limits: Limits | None = None,
                 isolation: str = "auto", base_dir: str | Path | None = None, ro_paths: Sequence[str] = (),
                 scratch_bytes: int = 512 << 20, unsafe_no_isolation: bool = False):
        self.limits = limits or Limits()
        self._iso = detect_isolation(isolation, unsafe_no_isolation)
        cgroups = detect_cgroups().only("memory")  # commands are not demoted: no CPU weight to manage
        self.isolation = f"{self._iso.description}; {cgroups.description}"
        self._dir = tempfile.mkdtemp(prefix="monkeys-sandbox-", dir=base_dir)
        if self._iso.kind != "bwrap":
            os.chmod(self._dir, 0o711)  # without a mount namespace the jobs' uid must reach work/
        self._work, self._initial = os.path.join(self._dir, "work"), os.path.join(self._dir, "initial")
        if source is None:
            os.mkdir(self._work)
        else:
            shutil.copytree(source, self._work, symlinks=True)
        shutil.copytree(self._work, self._initial, symlinks=True)  # what reset() returns to
        self.root = SANDBOX_ROOT if self._iso.kind == "bwrap" else self._work
        layout = Layout(scratch=os.path.join(self._dir, "scratch"), workdir=self._work,
                        scratch_bytes=scratch_bytes, ro_paths=tuple(ro_paths))
        os.mkdir(layout.scratch, 0o711)
        cgroup = WorkerCgroup(cgroups) if cgroups.version else None
        self._worker = Worker(self._iso, layout, os.path.join(self._dir, "worker.log"), cgroup)
        self._give_to_sandbox(self._work)
        try:
            self._worker.start()
        except WorkerFailed:
            self.close()
            raise

    # -- commands --
    def exec(self, command: str | Sequence[str], *, timeout_s: float | None = None, stdin: str | None = None,
             workdir: str | None = None) -> ExecResult:
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        limits = self._limits(timeout_s)
        header = {"kind": "exec", "argv": argv, "limits": limits.model_dump(), "files": [], "save": [],
                  "cwd": self._inside(workdir or ".")}
        blobs = [(stdin or "").encode("utf-8", "surrogatepass"), b""]
        try:
            reply, out = self._worker.request(header, blobs, limits.wall_s + GRACE_S,
                                              2 * limits.output_bytes + (1 << 20))
        except WorkerFailed as e:
            self._worker.kill()  # started afresh by the next exec
            return failure_result(e, limits.wall_s)
        return to_result(reply, out)

    def _limits(self, timeout_s: float | None) -> Limits:
        if timeout_s is None:
            return self.limits
        # an explicit timeout asks for that much time: the CPU limit must not cut it shorter
        cpu_s = max(self.limits.cpu_s, int(timeout_s) + 1)
        return self.limits.model_copy(update={"wall_s": timeout_s, "cpu_s": cpu_s})

    # -- files (host side; paths are inside the sandbox: relative to root, or absolute under it) --
    def _relative(self, path: str) -> str:
        p = os.path.normpath(path)
        if os.path.isabs(p):
            if p != self.root and not p.startswith(self.root.rstrip("/") + "/"):
                raise ValueError(f"{path!r} is outside the sandbox's working tree {self.root}")
            p = os.path.relpath(p, self.root)
        if p == ".." or p.startswith("../"):
            raise ValueError(f"{path!r} escapes the sandbox's working tree")
        return p

    def _inside(self, path: str) -> str:
        return os.path.normpath(os.path.join(self.root, self._relative(path)))

    def _host_path(self, path: str) -> str:
        """The host path of `path`, refusing symlinks that lead out of the tree (the code made them)."""
        host = os.path.join(self._work, self._relative(path))
        parent = os.path.realpath(os.path.dirname(host))
        if parent != self._work and not parent.startswith(self._work + "/"):
            raise ValueError(f"{path!r} leads out of the sandbox (through a symlink)")
        return os.path.join(parent, os.path.basename(host))

    def write_file(self, path: str, data: str | bytes) -> None:
        host = self._host_path(path)
        parent = existing = os.path.dirname(host)
        while not os.path.isdir(existing):
            existing = os.path.dirname(existing)
        os.makedirs(parent, exist_ok=True)
        fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
        created = os.path.relpath(parent, existing).split(os.sep)[0]  # "." when none was
        self._give_to_sandbox(host if created == "." else os.path.join(existing, created))

    def read_file(self, path: str) -> bytes:
        fd = os.open(self._host_path(path), os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            return f.read()

    def _give_to_sandbox(self, top: str) -> None:
        """As root, the sandbox's uid must own its tree to work in it."""
        uid = self._worker.uid
        if uid is None:
            return
        os.chown(top, uid, uid, follow_symlinks=False)
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)

    # -- patches and state --
    def apply_patch(self, patch: str) -> PatchResult:
        """The official harness's chain (sandboxes.patching) in the tree; its index refreshed first (a copy)."""
        return apply_chain(self, patch, scratch="", refresh_index=True,
                           timeout_s=max(self.limits.wall_s, 60.0))

    def reset(self) -> None:
        """Back to the initial tree: in place, since the running sandbox has it mounted."""
        for entry in os.scandir(self._work):
            if not remove_tree(entry.path):
                raise OSError(f"could not remove {entry.path} while resetting the sandbox")
        shutil.copytree(self._initial, self._work, symlinks=True, dirs_exist_ok=True)
        self._give_to_sandbox(self._work)

    def close(self) -> None:
        self._worker.close()  # set before anything in __init__ can call close()
        remove_tree(self._dir)  # unlocks what the code chmod'ed shut

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
