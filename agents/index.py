"""One index per instance, shared by all its attempts: definitions from the AST, BM25 over code chunks.

Definitions: every class and function (methods and nested ones too) with its qualified
name and line span. Chunks: each function or method, each class header, and module-level
code in windows; a chunk's tokens include its file path and qualified name, so a query
naming a module or a class finds it. Test files are left out unless asked for.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import gc
import os
import pickle
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from agents.bm25 import BM25, tokenize
from agents.filecache import FileCache, content_key
from agents.repo import RepoSnapshot, is_test_path, split_lines

if TYPE_CHECKING:
    from collections.abc import Iterator

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class Definition(NamedTuple):  # tuples: 100,000 of them pickle and load fast
    name: str
    qualname: str
    kind: str  # "class", "function" or "method"
    path: str
    start: int  # 1-based, decorators included
    end: int
    signature: str  # the def/class line, stripped


class Chunk(NamedTuple):
    path: str
    start: int
    end: int
    title: str  # qualified name, or "" for module-level code


def _start(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]


def iter_definitions(tree: ast.Module, path: str, lines: list[str]) -> Iterator[Definition]:
    stack: list[tuple[ast.AST, str, bool]] = [(node, "", False) for node in reversed(tree.body)]
    while stack:
        node, prefix, in_class = stack.pop()
        if not isinstance(node, _DEFS):
            continue
        qualname = f"{prefix}{node.name}"
        kind = "class" if isinstance(node, ast.ClassDef) else ("method" if in_class else "function")
        signature = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else node.name
        yield Definition(node.name, qualname, kind, path, _start(node), node.end_lineno or node.lineno, signature)
        is_class = isinstance(node, ast.ClassDef)
        stack.extend((child, f"{qualname}.", is_class) for child in reversed(node.body))


def _windows(path: str, start: int, end: int, size: int, title: str) -> Iterator[Chunk]:
    for first in range(start, end + 1, size):
        yield Chunk(path, first, min(first + size - 1, end), title)


def _chunks(tree: ast.Module | None, path: str, n_lines: int, size: int) -> Iterator[Chunk]:
    """Functions, methods and class headers as chunks; the code between them in windows."""
    if tree is None:
        yield from _windows(path, 1, n_lines, size, "")
        return
    covered = 0  # last line already in a chunk
    for node in tree.body:
        if not isinstance(node, _DEFS):
            continue
        first, last = _start(node), node.end_lineno or node.lineno
        if first > covered + 1:
            yield from _windows(path, covered + 1, first - 1, size, "")
        if isinstance(node, ast.ClassDef):
            methods = [m for m in node.body if isinstance(m, _DEFS)]
            header_end = (_start(methods[0]) - 1) if methods else last
            yield from _windows(path, first, max(first, header_end), size * 2, node.name)
            for method in methods:
                yield from _windows(path, _start(method), method.end_lineno or method.lineno, size * 2, f"{node.name}.{method.name}")
        else:
            yield from _windows(path, first, last, size * 2, node.name)
        covered = last
    if covered < n_lines:
        yield from _windows(path, covered + 1, n_lines, size, "")


def parse_python(text: str, path: str = "<file>") -> ast.Module | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences in old code are not our business
        try:
            return ast.parse(text, filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


INDEX_VERSION = 2  # bump when what the index holds changes: cached indexes and file entries are rebuilt


class FileEntry(NamedTuple):
    """One file's part of the index, without its path (so equal files share an entry)."""

    parses: bool
    definitions: list[tuple[str, str, str, int, int, str]]  # Definition without its path
    chunks: list[tuple[int, int, str]]  # Chunk without its path
    tokens: list[list[str]]  # per chunk: title tokens (twice) and body tokens, path tokens not included


def analyze_file(text: str, path: str, chunk_lines: int) -> FileEntry:
    lines = split_lines(text)
    tree = parse_python(text, path)
    definitions = sorted(iter_definitions(tree, path, lines), key=lambda d: d.start) if tree is not None else []
    chunks = list(_chunks(tree, path, len(lines), chunk_lines))
    tokens = [tokenize(c.title) * 2 + tokenize("\n".join(lines[c.start - 1:c.end])) for c in chunks]
    return FileEntry(tree is not None, [(d.name, d.qualname, d.kind, d.start, d.end, d.signature) for d in definitions],
                     [(c.start, c.end, c.title) for c in chunks], tokens)


def _analyze_in_processes(items: list[tuple[str, str]], chunk_lines: int, workers: int) -> list[FileEntry] | None:
    """The files' entries from `workers` child processes (agents.parse_worker), in order; None if one failed."""
    import concurrent.futures  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    order = sorted(range(len(items)), key=lambda i: -len(items[i][1]))
    shares = [order[k::workers] for k in range(workers)]  # largest first, dealt round: about equal work each

    def run(share: list[int]) -> list[FileEntry]:
        payload = pickle.dumps(([items[i] for i in share], chunk_lines), protocol=pickle.HIGHEST_PROTOCOL)
        done = subprocess.run([sys.executable, "-m", "agents.parse_worker"], input=payload, capture_output=True, check=True)
        return pickle.loads(done.stdout)  # noqa: S301 - our own child's output

    found: list[FileEntry | None] = [None] * len(items)
    try:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            for share, entries in zip(shares, pool.map(run, shares), strict=True):
                for i, entry in zip(share, entries, strict=True):
                    found[i] = entry
    except (OSError, subprocess.CalledProcessError, pickle.UnpicklingError, EOFError, ValueError):
        return None  # the caller parses them itself
    return found  # type: ignore[return-value]


def _entries(snapshot: RepoSnapshot, paths: list[str], chunk_lines: int, file_cache: FileCache | None,
             workers: int) -> list[tuple[str, FileEntry]]:
    """Each readable file's entry, from the cache where it has one, else analyzed (in worker processes
    when asked: parsing is CPU-bound and holds the GIL, which running attempts need too)."""
    texts = [(path, text) for path in paths if (text := snapshot.read(path)) is not None]
    salt = f"v{INDEX_VERSION}c{chunk_lines}"
    keys = [content_key(text.encode("utf-8", "surrogateescape"), salt) if file_cache else "" for _, text in texts]
    found: list[FileEntry | None] = [file_cache.get(key) if file_cache else None for key in keys]
    missing = [i for i, entry in enumerate(found) if entry is None]
    if workers > 1 and len(missing) >= 64:  # fewer files are parsed sooner than a process starts
        analyzed = _analyze_in_processes([texts[i] for i in missing], chunk_lines, workers)
        for i, entry in zip(missing, analyzed or [], strict=False):
            found[i] = entry
    for i in missing:
        if found[i] is None:
            found[i] = analyze_file(texts[i][1], texts[i][0], chunk_lines)
        if file_cache is not None:
            file_cache.put(keys[i], found[i])
    return [(path, entry) for (path, _text), entry in zip(texts, found, strict=True) if entry is not None]


class CodeIndex:
    """Built once per instance from the read-only snapshot; attempts only read it.

    Picklable without its snapshot (`save` / `load`), so a resumed run or another process
    reuses the index instead of parsing the repository again.
    """

    def __init__(self, snapshot: RepoSnapshot, include_tests: bool = False, chunk_lines: int = 40,
                 file_cache: FileCache | None = None, workers: int = 1) -> None:
        """file_cache: per-file entries by content, shared with other snapshots of the repository;
        workers > 1: files not in the cache are parsed in that many processes."""
        self.snapshot = snapshot
        self.include_tests = include_tests
        self.files = [f for f in snapshot.files if include_tests or not is_test_path(f)]
        self.hidden_tests = len(snapshot.files) - len(self.files)
        self.by_name: dict[str, list[Definition]] = {}
        self.outlines: dict[str, list[Definition]] = {}
        self.chunks: list[Chunk] = []
        self._parses: dict[str, bool] = {}
        documents: list[list[str]] = []
        # Parsing allocates millions of short-lived AST nodes: without the cyclic collector running
        # over them (nothing here makes cycles) the build takes about a third less time.
        collecting = gc.isenabled()
        gc.disable()
        try:
            python = [path for path in self.files if path.endswith(".py")]
            for path, entry in _entries(snapshot, python, chunk_lines, file_cache, workers):
                self._add_entry(path, entry, documents)
            self.bm25 = BM25(documents)
        finally:
            if collecting:
                gc.enable()
        self.chunk_paths = [c.path for c in self.chunks]

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "snapshot"}

    def save(self, path: Path) -> None:
        staging = path.with_suffix(f".tmp{os.getpid()}")
        with staging.open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        staging.replace(path)  # whole or absent, never half written

    @classmethod
    def load(cls, path: Path, snapshot: RepoSnapshot) -> CodeIndex:
        with path.open("rb") as fh:
            index = pickle.load(fh)  # noqa: S301 - our own cache file, next to the snapshot we made
        if not isinstance(index, cls):
            raise TypeError(f"{path} does not hold a CodeIndex")
        index.snapshot = snapshot
        return index

    @classmethod
    def cached(cls, snapshot: RepoSnapshot, include_tests: bool, chunk_lines: int, cache_dir: Path | None,
               file_cache: FileCache | None = None, workers: int = 1) -> CodeIndex:
        """The index from cache_dir when one was saved with the same settings, else built (and saved)."""
        if cache_dir is None:
            return cls(snapshot, include_tests, chunk_lines, file_cache, workers)
        path = Path(cache_dir) / f"index-v{INDEX_VERSION}-tests{int(include_tests)}-chunk{chunk_lines}.pickle"
        if path.is_file():
            try:
                return cls.load(path, snapshot)
            except Exception:  # noqa: BLE001 - an unreadable cache is rebuilt
                path.unlink(missing_ok=True)
        index = cls(snapshot, include_tests, chunk_lines, file_cache, workers)
        index.save(path)
        return index

    def _add_entry(self, path: str, entry: FileEntry, documents: list[list[str]]) -> None:
        self._parses[path] = entry.parses
        if entry.parses:
            found = [Definition(name, qualname, kind, path, start, end, sig) for name, qualname, kind, start, end, sig in entry.definitions]
            self.outlines[path] = found
            for definition in found:
                self.by_name.setdefault(definition.name, []).append(definition)
        path_tokens = tokenize(path.replace("/", " ").removesuffix(".py"))
        for (start, end, title), tokens in zip(entry.chunks, entry.tokens, strict=True):
            self.chunks.append(Chunk(path, start, end, title))
            documents.append(path_tokens + tokens)

    # -- queries --

    def find_definitions(self, query: str) -> list[Definition]:
        """`name`, `Class.method` or `module.Class`: exact names first, then case-insensitive ones."""
        query = query.strip().strip("`'\"()").removeprefix("def ").removeprefix("class ")
        last = query.rsplit(".", 1)[-1]
        found = [d for d in self.by_name.get(last, []) if "." not in query or _dotted_match(d, query)]
        if not found:
            lowered = last.lower()
            found = [d for name, defs in self.by_name.items() if name.lower() == lowered for d in defs]
        return sorted(found, key=lambda d: (d.kind == "method" and "." not in query, d.path, d.start))

    def close_names(self, query: str, limit: int = 5) -> list[str]:
        """Names that look like the query (for the "nothing found" message)."""
        last = query.rsplit(".", 1)[-1].lower()
        pool = [n for n in self.by_name if n.lower()[:2] == last[:2]] or list(self.by_name)[:5000]
        import difflib  # noqa: PLC0415 - only on a miss

        return difflib.get_close_matches(last, pool, n=limit, cutoff=0.6)

    def search(self, query: str, k: int, path_glob: str | None = None) -> list[tuple[Chunk, float]]:
        allowed = None
        if path_glob:
            regex = compile_glob(path_glob)
            allowed = np.array([regex.match(p) is not None for p in self.chunk_paths], dtype=bool)
        return [(self.chunks[i], score) for i, score in self.bm25.top(tokenize(query), k, allowed)]

    def glob(self, pattern: str) -> list[str]:
        regex = compile_glob(pattern)
        return [path for path in self.files if regex.match(path)]

    def original_parses(self, path: str) -> bool:
        """Whether the snapshot's version of a Python file parses (cached; indexing parsed most of them)."""
        known = self._parses.get(path)
        if known is None:
            text = self.snapshot.read(path)
            known = self._parses[path] = text is not None and parse_python(text, path) is not None
        return known


def _dotted_match(definition: Definition, query: str) -> bool:
    module = definition.path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    full = f"{module}.{definition.qualname}"
    return definition.qualname == query or full.endswith("." + query) or full == query


@functools.lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """One regex for a glob: fnmatch where `*` also crosses folders; a pattern without a slash matches
    file names too, and a pattern with one may be relative to any folder."""
    pattern = pattern.strip().strip("'\"")
    pattern = "*" if pattern in ("", ".", "./") else pattern.removeprefix("./").lstrip("/") or "*"
    # as given; or as a file name or a path under any folder (which also covers a leading **/)
    forms = [fnmatch.translate(pattern), r"(?s:(?:.*/)?)" + fnmatch.translate(pattern.removeprefix("**/"))]
    return re.compile("|".join(f"(?:{form})" for form in forms))


def match_glob(path: str, pattern: str) -> bool:
    return compile_glob(pattern).match(path) is not None
