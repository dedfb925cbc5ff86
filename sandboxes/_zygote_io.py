"""The zygote's plumbing: message framing with the host, pipes, output capture, wiping a
job's files. Standard library only (it runs inside the sandbox beside `_zygote.py`).

Framing, both ways: u32 body length, u32 header length, body = JSON header + blobs whose
sizes the header lists. JSON and raw bytes, never pickle: the host must not trust what
comes out of a sandbox.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import struct

HEAD = struct.Struct("<II")


# --- framing -------------------------------------------------------------------------

def encode_message(header: dict, blobs: list[bytes] = ()) -> list[bytes]:
    head = json.dumps(dict(header, blob_sizes=[len(b) for b in blobs])).encode()
    body_len = len(head) + sum(len(b) for b in blobs)
    return [HEAD.pack(body_len, len(head)), head, *blobs]


def decode_body(body: bytes, head_len: int) -> tuple[dict, list[bytes]]:
    header = json.loads(body[:head_len])
    blobs, offset = [], head_len
    for size in header.get("blob_sizes", []):
        blobs.append(body[offset:offset + size])
        offset += size
    return header, blobs


def _read_exact(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def read_message(fd: int) -> tuple[dict, list[bytes]] | None:
    head = _read_exact(fd, HEAD.size)
    if head is None:
        return None
    body_len, head_len = HEAD.unpack(head)
    body = _read_exact(fd, body_len)
    return None if body is None else decode_body(body, head_len)


def write_message(fd: int, header: dict, blobs: list[bytes] = ()) -> None:
    for part in encode_message(header, blobs):
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view):]



# --- pipes and files ---------------------------------------------------------------

def reap_all(block: bool) -> None:
    """Collect exited children; with block, wait until none is left (they were all SIGKILLed)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def nonblocking_pipe() -> tuple[int, int]:
    r, w = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(r, False)
    try:  # a bigger pipe means fewer wake-ups for a flood of output
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass
    return r, w


def stdin_fd(data: bytes) -> int:
    fd = os.memfd_create("stdin", os.MFD_CLOEXEC)
    write_all_fd(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def write_all_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def safe_relpath(name: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad file name {name!r}: relative, no '..'")
    return name


class Capture:
    """stdout or stderr of a job: kept up to a cap, the rest read and dropped (never buffered)."""

    def __init__(self, fd: int, cap: int):
        self.fd, self.cap, self.data, self.dropped = fd, cap, bytearray(), 0

    def read(self) -> bool:
        """Read what is there; False at end of file."""
        while True:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            room = self.cap - len(self.data)
            self.data += chunk[:room]
            self.dropped += max(0, len(chunk) - room)


def remove_tree(path: str) -> bool:
    """Remove a file or tree the job may have locked (chmod 000), leaving mount points (the
    read-only binds a sandbox may have under /tmp) alone; False if it cannot."""
    try:
        _remove(path, os.lstat(os.path.dirname(path)).st_dev)
        return True
    except FileNotFoundError:
        return True
    except (OSError, RecursionError):  # RecursionError: a tree nested absurdly deep
        return False


def _remove(path: str, dev: int) -> bool:
    """True when `path` is gone; False when it holds a mount point (and so stays)."""
    info = os.lstat(path)
    if info.st_dev != dev:
        return False
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return True
    if info.st_mode & 0o700 != 0o700:
        os.chmod(path, info.st_mode | 0o700)
    with os.scandir(path) as entries:
        complete = all([_remove(entry.path, dev) for entry in entries])
    if complete:
        os.rmdir(path)
    return complete

