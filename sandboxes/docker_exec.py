"""The plumbing of DockerSandbox.exec: reading an exec's output stream, exit statuses, stray processes."""

from __future__ import annotations

import socket
import threading
from typing import Any

from docker.utils.socket import frames_iter


class Capture:
    """Reads an exec's multiplexed stream; keeps the first `cap` bytes of each stream."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.out = bytearray()
        self.err = bytearray()
        self.truncated = False
        self.error: BaseException | None = None
        self.gave_up = False  # the client-side deadline passed before the stream ended
        self.sock: Any = None

    def add(self, buf: bytearray, chunk: bytes) -> None:
        room = self.cap - len(buf)
        if len(chunk) > room:
            self.truncated = True  # the rest is read and dropped, so the writer never blocks
        if room > 0:
            buf += chunk[:room]

    def drain(self, api: Any, exec_id: str, stdin: bytes | None = None) -> None:
        """Reads the exec's output until it ends; `stdin` is written meanwhile (a thread, so that a
        command that writes before it reads never blocks us), then closed: the command reads end of file."""
        try:
            self.sock = api.exec_start(exec_id, socket=True)
            raw_socket(self.sock).settimeout(None)  # a quiet command may run for long
            if stdin is not None:
                threading.Thread(target=feed, args=(raw_socket(self.sock), stdin), daemon=True).start()
            for stream, data in frames_iter(self.sock, tty=False):
                self.add(self.err if stream == 2 else self.out, data)
        except Exception as exc:  # noqa: BLE001 - reported to the waiting thread
            self.error = exc
        finally:
            self.close()

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                raw_socket(sock).shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def feed(sock: socket.socket, data: bytes) -> None:
    """Writes an exec's stdin and half-closes the stream (the engine passes that on as end of file)."""
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    except OSError:  # the command ended without reading it all
        pass


def raw_socket(sock: Any) -> Any:
    return getattr(sock, "_sock", sock)


def signal_of(code: int | None) -> int | None:
    """Docker and the shell report death by signal N as exit status 128 + N."""
    if code is not None and 128 < code <= 128 + 64:
        return code - 128
    return None


# Kills every process but docker-init (PID 1), the keeper (its first child) and this shell.
KILL_STRAYS = (
    'keep=" 1 $(cut -d" " -f1 /proc/1/task/1/children 2>/dev/null) $$ "; '
    'for d in /proc/[0-9]*; do p=${d#/proc/}; case "$keep" in *" $p "*) ;; '
    '*) kill -9 "$p" 2>/dev/null;; esac; done; true'
)
