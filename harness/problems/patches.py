"""Unified diffs as candidates: finding one in a model output, and a key for deduplication.

The key is the digest of a normalized patch. Normalization makes only changes that cannot
change what `git apply`, `git apply --3way` or `patch -p1 --fuzz` do to a tree:

- text outside any file patch is dropped (commit messages, prose, trailing blank lines),
  but only where both tools skip it: before the first file header, and after a file's
  last hunk when a new file header or the end follows. Junk between two hunks of one file
  makes git stop reading that file, so such a patch is not normalized at all;
- the free text after a hunk header's second `@@` (the function name) is dropped, and
  `@@ -5 +5 @@` is written `@@ -5,1 +5,1 @@` (a missing count means 1 to both tools);
- a TAB-separated timestamp after a `---`/`+++` file name is dropped, except an epoch
  timestamp (1970-01-01 / 1969-12-31), which both tools read as "this file does not exist".

`index <hash>..<hash> <mode>` lines are kept: `git apply --3way` merges against the blob
they name, so a patch written against another revision applies with them and not without
(the toy instance's `stale_3way` and `fuzzy` patches differ only there), and the mode can
set a file's executable bit.

Hunk lines stay byte for byte (trailing whitespace, CR, a missing final newline all can
change the patched file). Hunk counts are never recomputed: a miscounted hunk is "corrupt
patch" to git, and fixing it would turn a failing patch into one that applies. Binary
patches, miscounted hunks and anything unparseable are keyed by their raw text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

_FENCE = re.compile(r"^```[ \t]*([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_EPOCH = re.compile(r"1970-01-01|1969-12-31|Jan\s+1 \d\d:\d\d:\d\d 1970|Dec\s+31 \d\d:\d\d:\d\d 1969")
_EXTENDED_HEADERS = (
    "old mode ", "new mode ", "deleted file mode ", "new file mode ", "copy from ", "copy to ",
    "rename from ", "rename to ", "similarity index ", "dissimilarity index ", "index ",
)
_BINARY_MARKERS = ("GIT binary patch", "Binary files ")
KEY_PREFIX = "sha256:"


@dataclass
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: list[str]  # body lines, verbatim with their line endings

    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@\n"


@dataclass
class FilePatch:
    header_lines: list[str] = field(default_factory=list)  # diff --git, extended headers, ---/+++
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def has_file_lines(self) -> bool:
        return any(line.startswith("--- ") for line in self.header_lines)

    def path(self) -> str | None:
        """The repository path this file patch touches (new name, or old one for a deletion)."""
        names = [_file_name(line[4:]) for line in self.header_lines if line.startswith(("--- ", "+++ "))]
        for name in reversed(names):  # +++ first: it names the file after the patch
            if name and name != "/dev/null":
                return _strip_prefix(name)
        git = next((line for line in self.header_lines if line.startswith("diff --git ")), None)
        return _strip_prefix(git.split()[-1]) if git else None


def _file_name(rest: str) -> str:
    return rest.rstrip("\r\n").split("\t", 1)[0]


def _strip_prefix(name: str) -> str:
    return name[2:] if name[:2] in ("a/", "b/") else name


# --- finding a patch in a model output ------------------------------------------------------


def looks_like_diff(text: str) -> bool:
    lines = text.splitlines()
    return any(_is_file_start(lines, i) for i in range(len(lines)))


def _is_file_start(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.startswith("diff --git "):
        return True
    return line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def extract_patch(text: str) -> str | None:
    """The diff in a model output: the fenced diff blocks, else the text from the first file header.

    A text that is a diff already (possibly after blank lines) comes back unchanged, so a
    prediction's `model_patch` is applied exactly as the official harness applies it.
    """
    if not text or not text.strip():
        return None
    blocks = [body for _, body in _FENCE.findall(text) if looks_like_diff(body)]
    if blocks:
        return "".join(block if block.endswith("\n") else block + "\n" for block in blocks)
    lines = text.splitlines(keepends=True)
    bare = [line.rstrip("\r\n") for line in lines]
    start = next((i for i in range(len(lines)) if _is_file_start(bare, i)), None)
    if start is None:
        return None
    if not "".join(lines[:start]).strip():
        return text
    return "".join(lines[start:])


# --- parsing ---------------------------------------------------------------------------------


class _Corrupt(Exception):
    """The patch is not one we normalize; it is keyed by its raw text."""


def _read_hunk(lines: list[str], i: int) -> tuple[Hunk, int]:
    match = _HUNK_HEADER.match(lines[i])
    if match is None:
        raise _Corrupt
    old_start, old_len, new_start, new_len = (int(g) if g is not None else 1 for g in match.groups())
    hunk = Hunk(old_start, old_len, new_start, new_len, [])
    old_left, new_left = old_len, new_len
    i += 1
    while old_left > 0 or new_left > 0:
        if i >= len(lines):
            raise _Corrupt
        line = lines[i]
        kind = line[:1]
        if line == "\n" or kind == " ":  # git reads an empty line as an empty context line
            old_left, new_left = old_left - 1, new_left - 1
        elif kind == "-":
            old_left -= 1
        elif kind == "+":
            new_left -= 1
        elif kind != "\\":
            raise _Corrupt
        if old_left < 0 or new_left < 0:
            raise _Corrupt
        hunk.lines.append(line)
        i += 1
    if i < len(lines) and lines[i].startswith("\\"):  # "\ No newline at end of file"
        hunk.lines.append(lines[i])
        i += 1
    return hunk, i


def parse_patch(text: str) -> list[FilePatch]:
    """The file patches of a text diff; raises _Corrupt where normalizing would not be safe."""
    lines = text.split("\n")  # as git reads a patch: str.splitlines would also split at a form feed in a line
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    bare = [line.rstrip("\r\n") for line in lines]
    files: list[FilePatch] = []
    current: FilePatch | None = None
    junk_since_hunk = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(_BINARY_MARKERS):
            raise _Corrupt
        if line.startswith("diff --git "):
            current, junk_since_hunk = FilePatch([line]), False
            files.append(current)
            i += 1
            while i < len(lines) and lines[i].startswith(_EXTENDED_HEADERS):
                current.header_lines.append(lines[i])
                i += 1
            continue
        if _is_file_start(bare, i):
            if current is None or current.hunks or current.has_file_lines:
                current = FilePatch()
                files.append(current)
            elif len(current.header_lines) and junk_since_hunk:
                raise _Corrupt
            current.header_lines += [line, lines[i + 1]]
            junk_since_hunk = False
            i += 2
            continue
        if line.startswith("@@"):
            if current is None or junk_since_hunk or not current.has_file_lines:
                raise _Corrupt  # a hunk git would reject or read differently
            hunk, i = _read_hunk(lines, i)
            current.hunks.append(hunk)
            continue
        if current is not None and not current.hunks and current.has_file_lines:
            raise _Corrupt  # junk between a file header and its first hunk
        if current is not None and not current.hunks and line.strip():
            raise _Corrupt  # junk right after a `diff --git` header
        junk_since_hunk = current is not None
        i += 1
    return files


def render(files: list[FilePatch], *, canonical_headers: bool = True) -> str:
    parts: list[str] = []
    for file_patch in files:
        for line in file_patch.header_lines:
            parts.append(_without_timestamp(line) if canonical_headers else line)
        for hunk in file_patch.hunks:
            parts.append(hunk.header())
            parts.extend(hunk.lines)
    return "".join(parts)


def _without_timestamp(line: str) -> str:
    if not line.startswith(("--- ", "+++ ")) or "\t" not in line:
        return line
    name, stamp = line.split("\t", 1)
    if _EPOCH.search(stamp):
        return line  # an epoch timestamp marks a created or deleted file
    return name + "\n"


# --- the candidate key -----------------------------------------------------------------------


def normalize_patch(patch: str) -> str:
    """The normalized form (see the module docstring); the raw text where that is not safe."""
    try:
        files = parse_patch(patch)
    except _Corrupt:
        return patch
    if not files or not any(f.hunks or len(f.header_lines) > 1 for f in files):
        return patch
    return render(files)


def patch_key(patch: str) -> str:
    """Attempts whose patches share this key are verified once."""
    return KEY_PREFIX + hashlib.sha256(normalize_patch(patch).encode("utf-8", "surrogatepass")).hexdigest()


def key_digest(key: str, length: int = 16) -> str:
    """A short file-name-safe form of a candidate key (for log file names)."""
    digest = key.removeprefix(KEY_PREFIX)
    if key.startswith(KEY_PREFIX) and re.fullmatch(r"[0-9a-f]{64}", digest):
        return digest[:length]
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def patch_problem(patch: str) -> str | None:
    """Why `patch` surely applies nowhere (empty, NUL bytes, only binary parts, not a diff), or None.

    Only what fails every step of the official chain is refused here: a text diff with binary
    parts goes on (GNU patch applies its text hunks and skips "Binary files ... differ").
    """
    if not patch.strip():
        return "empty patch: nothing to apply"
    if "\0" in patch:
        return "the patch holds NUL bytes: binary data, not a text diff"
    lines = patch.split("\n")
    bare = [line.rstrip("\r") for line in lines]
    has_header = any(_is_file_start(bare, i) for i in range(len(bare)))
    has_hunk = any(_HUNK_HEADER.match(line) for line in bare)
    if has_header and has_hunk:
        return None
    if any(line.startswith(_BINARY_MARKERS) for line in bare):
        return "binary patch: only text diffs are applied"
    if any(line.startswith("diff --git ") for line in bare):
        return None  # a mode change, rename or empty new file: git applies those without hunks
    return "not a diff: no 'diff --git' or '---'/'+++' file headers with '@@' hunks"


def _header_path(raw: str) -> str | None:
    """The -p1 path of a header name ("a/x.py", "b/x.py\t2024-01-01"); None for /dev/null or unsafe names."""
    name = _strip_prefix(_file_name(raw).strip().strip('"'))
    parts = name.split("/")
    if not name or name.startswith("/") or ".." in parts or name in (".", "dev/null"):
        return None  # only paths inside the repository are backed up and restored
    return name


def touched_paths(patch: str) -> list[str]:
    """Every repository path a patch names (old and new names), read leniently: what a failed try restores.

    Only real file headers count: "diff --git a/X b/Y", and a "--- X" line directly followed by
    "+++ Y" (a removed line that starts with "-- " is not a header). Unlike `patched_paths` this
    never gives up on a corrupt patch: the steps of the chain may still write to the files it names.
    """
    names: list[str] = []
    lines = patch.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("diff --git ") and " b/" in line:
            a_part, b_part = line[len("diff --git "):].rsplit(" b/", 1)
            names += [a_part, "b/" + b_part]
        elif _is_file_start(lines, i) and not line.startswith("diff --git "):
            names += [line[4:], lines[i + 1][4:]]
    paths = [p for p in map(_header_path, names) if p is not None]
    return list(dict.fromkeys(paths))


def patched_paths(patch: str) -> list[str]:
    """Repository paths a patch touches, in order (used to reset test files)."""
    paths: list[str] = []
    try:
        files = parse_patch(patch)
    except _Corrupt:
        files = []
    for file_patch in files:
        path = file_patch.path()
        if path and path not in paths:
            paths.append(path)
    return paths
