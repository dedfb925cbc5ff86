"""A read-only repository snapshot shared by every attempt, and a copy-on-write overlay per attempt.

250 attempts on one instance share one tree on disk and one cache of its decoded files;
an attempt's edits live in its `Overlay` (a dict of changed files), and its patch is the
unified diff of those files against the snapshot, in `git diff` form. Text is decoded
with surrogateescape and never newline-translated, so any byte survives the round trip.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".tox", ".nox", ".eggs", "node_modules", ".mypy_cache",
                       ".pytest_cache", "build", "dist", ".venv", "venv"})
SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".o", ".a", ".dll", ".dylib", ".egg-info")
TEST_DIRS = frozenset({"tests", "test", "testing"})
CACHE_BYTES = 512 << 20  # decoded files kept in memory per snapshot; beyond it files are re-read


def is_test_path(path: str) -> bool:
    """Test files by the conventions SWE-bench repositories use (django/test/ is library code: kept)."""
    parts = PurePosixPath(path).parts
    name = parts[-1]
    if name.startswith("test_") or name.endswith(("_test.py", "_tests.py")) or name in ("conftest.py", "tests.py"):
        return True
    dirs = parts[:-1]
    return any(d in ("tests", "testing") for d in dirs) or (len(dirs) == 1 and dirs[0] == "test")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """Lines as git and Python count them: split at newlines only (`str.splitlines` also splits at form
    feeds, \\x1c-\\x1e and \\u2028, which old code has; line numbers and diffs would drift). Without
    keepends, a carriage return before the newline is dropped too."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if keepends:
        return [line + "\n" for line in lines[:-1]] + ([lines[-1] + ("\n" if text.endswith("\n") else "")] if lines else [])
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def list_files(root: Path) -> list[str]:
    """Every regular file under root (posix paths relative to it), build and VCS folders left out."""
    found: list[str] = []
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        rel = os.path.relpath(top, root)
        for name in sorted(files):
            if name.endswith(SKIP_SUFFIXES) or os.path.islink(os.path.join(top, name)):
                continue
            found.append(name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}")
    return found


class RepoSnapshot:
    """A tree on disk that nothing writes to, with a shared cache of its decoded text files."""

    def __init__(self, root: Path, files: Iterable[str] | None = None) -> None:
        self.root = Path(root)
        self.files: tuple[str, ...] = tuple(sorted(files if files is not None else list_files(self.root)))
        self._file_set = frozenset(self.files)
        self._dirs = frozenset(str(p) for f in self.files for p in PurePosixPath(f).parents if str(p) != ".")
        self._cache: dict[str, str] = {}
        self._cached_bytes = 0

    def exists(self, path: str) -> bool:
        return path in self._file_set

    def is_dir(self, path: str) -> bool:
        return path.strip("/") in self._dirs or path in ("", ".", "/")

    def read(self, path: str) -> str | None:
        """The file's text, or None when there is no such file (or it is binary)."""
        if path not in self._file_set:
            return None
        text = self._cache.get(path)
        if text is None:
            data = (self.root / path).read_bytes()
            if b"\x00" in data[:8192]:
                return None
            text = data.decode("utf-8", "surrogateescape")
            if self._cached_bytes + len(data) <= CACHE_BYTES:
                self._cache[path] = text
                self._cached_bytes += len(data)
        return text


class Overlay:
    """An attempt's view of the repository: its own changed files over the shared snapshot."""

    def __init__(self, snapshot: RepoSnapshot) -> None:
        self.snapshot = snapshot
        self.changed: dict[str, str] = {}  # path -> new text (files created included)

    def read(self, path: str) -> str | None:
        return self.changed[path] if path in self.changed else self.snapshot.read(path)

    def exists(self, path: str) -> bool:
        return path in self.changed or self.snapshot.exists(path)

    def write(self, path: str, text: str) -> None:
        if self.snapshot.read(path) == text:
            self.changed.pop(path, None)  # back to the original: no longer part of the diff
        else:
            self.changed[path] = text

    def files(self) -> list[str]:
        return sorted(set(self.snapshot.files) | set(self.changed))

    def diff(self) -> str:
        """The attempt's patch: `git diff` of every changed file against the snapshot."""
        return "".join(file_diff(path, self.snapshot.read(path), self.changed[path]) for path in sorted(self.changed))


# --- diffs ---------------------------------------------------------------------------------------


def _equal_runs(a: list[str], b: list[str]) -> tuple[int, int]:
    """Lengths of the common prefix and suffix (the suffix never overlapping the prefix)."""
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return prefix, suffix


class _KnownOpcodes(difflib.SequenceMatcher):
    """get_grouped_opcodes over opcodes computed elsewhere (only the changed middle was matched)."""

    def __init__(self, opcodes: list[tuple[str, int, int, int, int]]) -> None:
        super().__init__(None, [], [])
        self._codes = opcodes

    def get_opcodes(self) -> list[tuple[str, int, int, int, int]]:
        return self._codes


def _opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    # Edits are local: match only the middle that differs, so a one-line edit of a huge file is cheap.
    prefix, suffix = _equal_runs(a, b)
    middle = difflib.SequenceMatcher(None, a[prefix:len(a) - suffix], b[prefix:len(b) - suffix], autojunk=False)
    codes = [("equal", 0, prefix, 0, prefix)] if prefix else []
    codes += [(tag, i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix) for tag, i1, i2, j1, j2 in middle.get_opcodes()]
    if suffix:
        codes.append(("equal", len(a) - suffix, len(a), len(b) - suffix, len(b)))
    merged: list[tuple[str, int, int, int, int]] = []
    for code in codes:
        if merged and code[0] == "equal" == merged[-1][0]:
            merged[-1] = ("equal", merged[-1][1], code[2], merged[-1][3], code[4])
        else:
            merged.append(code)
    return merged


def _range(start: int, stop: int) -> str:
    length = stop - start
    return f"{start if length == 0 else start + 1},{length}"


def _line(prefix: str, text: str) -> str:
    return prefix + text if text.endswith("\n") else f"{prefix}{text}\n\\ No newline at end of file\n"


def hunks(old: str, new: str, context: int = 3) -> list[str]:
    a, b = split_lines(old, keepends=True), split_lines(new, keepends=True)
    out: list[str] = []
    for group in _KnownOpcodes(_opcodes(a, b)).get_grouped_opcodes(context):
        out.append(f"@@ -{_range(group[0][1], group[-1][2])} +{_range(group[0][3], group[-1][4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [_line(" ", line) for line in a[i1:i2]]
                continue
            out += [_line("-", line) for line in a[i1:i2]]
            out += [_line("+", line) for line in b[j1:j2]]
    return out


def file_diff(path: str, old: str | None, new: str) -> str:
    """One file's part of a `git diff` (a created file when old is None)."""
    body = hunks(old or "", new)
    if not body:
        return ""
    header = [f"diff --git a/{path} b/{path}\n"]
    if old is None:
        header += ["new file mode 100644\n", "--- /dev/null\n", f"+++ b/{path}\n"]
    else:
        header += [f"--- a/{path}\n", f"+++ b/{path}\n"]
    return "".join(header + body)
