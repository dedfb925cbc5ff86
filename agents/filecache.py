"""A content-addressed store of per-file index entries, shared by every instance of a repository.

The 31 sympy instances of a benchmark are 31 commits of one repository: most of their files
are byte for byte the same. Each file's analysis (definitions, chunks, tokens) is saved under
the digest of its content and the settings that shaped it, so an instance indexes only the
files no earlier instance had. Entries are written whole (temporary file, then rename): a
crash or two processes writing the same entry leave a complete entry or none.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any


def content_key(data: bytes, salt: str) -> str:
    return hashlib.blake2b(data, digest_size=20, person=salt.encode()[:16].ljust(16, b"\0")).hexdigest()


class FileCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.hits = self.misses = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key[2:]}.pickle"

    def get(self, key: str) -> Any | None:
        try:
            with self._path(key).open("rb") as fh:
                value = pickle.load(fh)  # noqa: S301 - our own entries, written by put()
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception:  # noqa: BLE001 - a damaged entry is made again
            self._path(key).unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # a staging name of its own per call: two threads of one process may put the same entry
        # (identical files in one tree), and a name per process let the second rename find nothing
        fd, staging = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(staging, path)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
