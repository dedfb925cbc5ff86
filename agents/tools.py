"""The agent's tools over one attempt's workspace: pure functions of (workspace, action) -> outcome.

Tools never raise for bad input: every mistake comes back as an observation that says
what was wrong and what to do instead, because that is what a model can act on.
Nothing here touches the shared snapshot or index; edits go to the attempt's overlay.
"""

from __future__ import annotations

import ast
import gc
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agents.actions import Action, ActionError, Replacement, parse_replacements
from agents.config import ToolConfig
from agents.filecache import FileCache
from agents.index import CodeIndex, Definition, iter_definitions, parse_python
from agents.repo import Overlay, RepoSnapshot, is_test_path, split_lines

_RANGE = re.compile(r"^(\d+)\s*[-:,]\s*(\d+)$")


@dataclass
class Environment:
    """What all attempts of an instance share: the read-only snapshot and its index."""

    snapshot: RepoSnapshot
    index: CodeIndex
    tools: ToolConfig

    @classmethod
    def build(cls, snapshot: RepoSnapshot, tools: ToolConfig, index_cache: Path | None = None,
              file_cache: FileCache | None = None, workers: int = 1) -> Environment:
        """index_cache: a folder where the index is saved once and loaded by later runs (None: always built);
        file_cache: per-file entries shared with the other snapshots of the repository; workers: parsing processes."""
        index = CodeIndex.cached(snapshot, tools.include_tests, tools.chunk_lines, index_cache, file_cache, workers)
        return cls(snapshot, index, tools)


@dataclass(frozen=True)
class Span:
    path: str
    start: int
    end: int


@dataclass
class Workspace:
    """One attempt's state: its overlay and the spans it marked as relevant."""

    env: Environment
    overlay: Overlay
    identified: list[Span] = field(default_factory=list)

    @classmethod
    def fresh(cls, env: Environment) -> Workspace:
        return cls(env, Overlay(env.snapshot))


@dataclass(frozen=True)
class ToolOutcome:
    observation: str
    ok: bool = True  # False: the tool rejected the action (feedback in the observation)
    changed: tuple[str, ...] = ()  # files the action modified
    done: bool = False


# --- helpers ---------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [output cut at {limit} characters; narrow the query or the line range]"


def _numbered(lines: list[str], first: int) -> str:
    width = len(str(first + len(lines)))
    return "\n".join(f"{first + i:>{width}}| {line}" for i, line in enumerate(lines))


def _missing_file(ws: Workspace, path: str) -> ToolOutcome:
    import difflib  # noqa: PLC0415 - only on a miss

    names = difflib.get_close_matches(path, ws.overlay.files(), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(names)}?" if names else " Use find_files to look for it."
    return ToolOutcome(f"No file {path!r} in the repository.{hint}", ok=False)


def _clean_path(raw: str) -> str:
    path = raw.strip().strip("'\"`").removeprefix("/testbed/").removeprefix("./").lstrip("/")
    return path.removeprefix("a/").removeprefix("b/") if path[:2] in ("a/", "b/") and "/" in path[2:] else path


def _split_location(args: list[str]) -> tuple[str, list[str]]:
    """`path 10 40`, `path 10-40` and `path:10-40` all mean the same."""
    if not args:
        return "", []
    path, rest = args[0], list(args[1:])
    if ":" in path and re.search(r":\d", path):
        path, tail = path.split(":", 1)
        rest = [tail, *rest]
    return _clean_path(path), [part for item in rest for part in re.split(r"[-:,]", item) if part]


# --- find_files / find_definition / search_code ----------------------------------------------------


def find_files(ws: Workspace, action: Action) -> ToolOutcome:
    pattern = " ".join(action.args).strip()
    if not pattern:
        return ToolOutcome("Usage: find_files <glob pattern>, e.g. find_files **/config.py or find_files src/*.py", ok=False)
    found = ws.env.index.glob(pattern)
    limit = ws.env.tools.find_results
    if not found:
        return ToolOutcome(f"No files match {pattern!r} (test files are not searched).", ok=False)
    lines = found[:limit] + ([f"... and {len(found) - limit} more; use a narrower pattern"] if len(found) > limit else [])
    return ToolOutcome(f"{len(found)} files match {pattern!r}:\n" + "\n".join(lines))


def _describe(definition: Definition) -> str:
    return f"{definition.path}:{definition.start}-{definition.end}  {definition.kind} {definition.qualname}: {definition.signature}"


def find_definition(ws: Workspace, action: Action) -> ToolOutcome:
    if not action.args:
        return ToolOutcome("Usage: find_definition <name>, e.g. find_definition parse_header or find_definition Parser.parse", ok=False)
    query = action.args[0]
    found = ws.env.index.find_definitions(query)
    if len(action.args) > 1:  # an optional path pattern narrows the hits
        from agents.index import match_glob  # noqa: PLC0415

        found = [d for d in found if match_glob(d.path, action.args[1])]
    if not found:
        close = ws.env.index.close_names(query)
        hint = f" Similar names: {', '.join(close)}." if close else " Try search_code with words from the issue."
        return ToolOutcome(f"No class or function named {query!r}.{hint}", ok=False)
    limit = ws.env.tools.find_results
    lines = [_describe(d) for d in found[:limit]]
    more = f"\n... and {len(found) - limit} more" if len(found) > limit else ""
    return ToolOutcome(f"{len(found)} definitions of {query!r}:\n" + "\n".join(lines) + more)


def search_code(ws: Workspace, action: Action) -> ToolOutcome:
    words = [w for w in action.args if not w.startswith("--path=")]
    globs = [w.removeprefix("--path=") for w in action.args if w.startswith("--path=")]
    query = " ".join(words + ([action.body] if action.body.strip() else []))
    if not query.strip():
        return ToolOutcome("Usage: search_code <keywords or code>, optionally --path=<glob>", ok=False)
    hits = ws.env.index.search(query, ws.env.tools.search_results, globs[0] if globs else None)
    if not hits:
        return ToolOutcome(f"Nothing matches {query!r} outside the tests. Try other words or find_definition.", ok=False)
    parts = []
    for chunk, score in hits:
        text = ws.overlay.read(chunk.path) or ""
        preview = split_lines(text)[chunk.start - 1:min(chunk.end, chunk.start + 2)]
        title = f"  {chunk.title}" if chunk.title else ""
        parts.append(f"{chunk.path}:{chunk.start}-{chunk.end}{title}  (score {score:.1f})\n{_numbered(preview, chunk.start)}")
    return ToolOutcome("\n\n".join(parts))


# --- view / identify ------------------------------------------------------------------------------


def _outline(ws: Workspace, path: str, text: str) -> str:
    definitions = ws.env.index.outlines.get(path)
    if definitions is None:
        tree = parse_python(text, path) if path.endswith(".py") else None
        definitions = sorted(iter_definitions(tree, path, split_lines(text)), key=lambda d: d.start) if tree else []
    rows = [f"{d.start:>5}-{d.end:<5} {'    ' * d.qualname.count('.')}{d.signature}" for d in definitions]
    return "\n".join(rows[:200]) or "(no classes or functions)"


def view(ws: Workspace, action: Action) -> ToolOutcome:
    path, numbers = _split_location(action.args)
    if not path:
        return ToolOutcome("Usage: view <path> [start_line] [end_line]", ok=False)
    if ws.env.snapshot.is_dir(path) and not ws.overlay.exists(path):
        entries = sorted({f[len(path.rstrip('/')) + 1:].split("/")[0] for f in ws.overlay.files() if f.startswith(path.rstrip("/") + "/")})
        return ToolOutcome(f"{path} is a folder:\n" + "\n".join(entries[:200]))
    text = ws.overlay.read(path)
    if text is None:
        return _missing_file(ws, path)
    lines = split_lines(text)
    limit = ws.env.tools.view_max_lines
    if not numbers and len(lines) > limit:
        return ToolOutcome(f"{path} has {len(lines)} lines; its outline (view {path} START END to read a part):\n"
                           + _outline(ws, path, text))
    try:
        start = max(1, int(numbers[0])) if numbers else 1
        end = int(numbers[1]) if len(numbers) > 1 else start + limit - 1
    except ValueError:
        return ToolOutcome(f"Line numbers must be integers: view {path} 10 40", ok=False)
    end = min(end, len(lines), start + limit - 1)
    if start > len(lines):
        return ToolOutcome(f"{path} has only {len(lines)} lines.", ok=False)
    edited = " (with your edits)" if path in ws.overlay.changed else ""
    more = f"\n... ({len(lines) - end} more lines)" if end < len(lines) else ""
    return ToolOutcome(f"{path} lines {start}-{end} of {len(lines)}{edited}:\n{_numbered(lines[start - 1:end], start)}{more}")


def identify(ws: Workspace, action: Action) -> ToolOutcome:
    path, numbers = _split_location(action.args)
    text = ws.overlay.read(path) if path else None
    if text is None:
        return _missing_file(ws, path) if path else ToolOutcome("Usage: identify <path> <start>-<end>", ok=False)
    n_lines = len(split_lines(text))
    try:
        pairs = [(int(numbers[i]), int(numbers[i + 1])) for i in range(0, len(numbers) - 1, 2)] or [(1, n_lines)]
    except ValueError:
        return ToolOutcome(f"Line numbers must be integers: identify {path} 16-18", ok=False)
    spans = [Span(path, max(1, a), min(max(a, b), n_lines)) for a, b in pairs]
    ws.identified.extend(spans)
    return ToolOutcome("Noted as relevant: " + ", ".join(f"{s.path}:{s.start}-{s.end}" for s in spans))


# --- edit -----------------------------------------------------------------------------------------


def _whitespace_hint(text: str, search: str) -> str:
    """Where the search text matches once lines are stripped: the exact lines to use instead."""
    want = [line.strip() for line in split_lines(search) if line.strip()]
    lines = split_lines(text)
    if not want:
        return ""
    stripped = [line.strip() for line in lines]
    starts = [i for i in range(len(lines)) if stripped[i] == want[0]]
    for i in starts:
        j, k = i, 0
        while j < len(lines) and k < len(want):
            if stripped[j]:
                if stripped[j] != want[k]:
                    break
                k += 1
            j += 1
        if k == len(want):
            return f" Lines {i + 1}-{j} match when whitespace is ignored; copy them exactly:\n{_numbered(lines[i:j], i + 1)}"
    return ""


def _apply(text: str, block: Replacement) -> tuple[str | None, str]:
    """The new text, or None and why the block was rejected (said of the block as first read)."""
    if block.search == "":
        return None, "The SEARCH text is empty; copy the exact lines to replace from the file."
    # With an ambiguous divider, of the readings whose SEARCH matches exactly once the longest is the
    # one meant: a split at a ======= line of the code itself only cuts the real SEARCH text short.
    unique = [r for r in (block, *block.alternatives) if r.search and text.count(r.search) == 1]
    if unique:
        chosen = max(unique, key=lambda r: len(r.search))
        return text.replace(chosen.search, chosen.replace, 1), ""
    count = text.count(block.search)
    if count == 0:
        return None, "The SEARCH text is not in the file." + _whitespace_hint(text, block.search)
    return None, f"The SEARCH text occurs {count} times; add surrounding lines so that it matches exactly once."


def _syntax_error(ws: Workspace, path: str, after: str) -> str | None:
    """A Python file that parsed before the edit must still parse after it.

    "Before" is the snapshot's version: edits that do not parse are never kept, so a changed
    file parses exactly when its original did (and the index knows that without parsing).
    """
    if not path.endswith(".py") or (ws.env.snapshot.exists(path) and not ws.env.index.original_parses(path)):
        return None
    exc = parse_error(after, path)
    if exc is None:
        return None
    line = getattr(exc, "lineno", None)
    where = f" at line {line}" if line else ""
    return f"{type(exc).__name__}{where}: {getattr(exc, 'msg', exc)}"


def parse_error(text: str, path: str) -> Exception | None:
    """Why the text does not parse as Python, or None; the same verdict as `ast.parse`, faster.

    Compiling to bytecode makes no AST objects (about 3x faster on sympy's large modules) and
    refuses everything the parser refuses; only when it fails does the parser decide (it also
    refuses a few things that parse, such as `return` outside a function). The collector is
    off meanwhile: its passes over a growing tree made one parse of a 9,000-line module 2-3x slower.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                compile(text, path, "exec", dont_inherit=True)
                return None
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                pass
            try:
                ast.parse(text, filename=path)
            except (SyntaxError, ValueError) as exc:
                return exc
            except (RecursionError, MemoryError):
                return SyntaxError("too deeply nested to parse")
            return None
    finally:
        if collecting:
            gc.enable()


def _changed_region(before: str, after: str, context: int = 3) -> str:
    old, new = split_lines(before), split_lines(after)
    first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    tail = next((i for i, (a, b) in enumerate(zip(reversed(old), reversed(new))) if a != b), min(len(old), len(new)))
    start, end = max(0, first - context), min(len(new), len(new) - tail + context)
    return _numbered(new[start:max(end, start + 1)], start + 1)


def shift_span(span: Span, before: str, after: str) -> Span:
    """Where an identified span lies after an edit: moved with the lines above it, grown over a change it touches."""
    old, new = split_lines(before), split_lines(after)
    first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    common = min(len(old), len(new))
    tail = min(next((i for i, (a, b) in enumerate(zip(reversed(old), reversed(new))) if a != b), common), common - first)
    old_end, new_end, delta = len(old) - tail, len(new) - tail, len(new) - len(old)  # changed: old[first:old_end]
    if span.end <= first:  # wholly above the change
        return span
    if span.start > old_end:  # wholly below it
        return Span(span.path, span.start + delta, span.end + delta)
    start = min(span.start, first + 1)
    end = span.end + delta if span.end > old_end else max(new_end, start)
    return Span(span.path, start, max(start, min(end, max(len(new), 1))))


def _create(ws: Workspace, path: str, blocks: list[Replacement]) -> ToolOutcome:
    content = blocks[0].replace + ("\n" if blocks[0].replace and not blocks[0].replace.endswith("\n") else "")
    error = _syntax_error(ws, path, content)
    if error:
        return ToolOutcome(f"Edit rejected: the new file would not parse ({error}). Nothing was written.", ok=False)
    ws.overlay.write(path, content)
    return ToolOutcome(f"Created {path} ({len(split_lines(content))} lines).", changed=(path,))


def edit(ws: Workspace, action: Action) -> ToolOutcome:
    path = _clean_path(action.args[0]) if action.args else ""
    try:
        blocks = list(action.replacements) or parse_replacements(action.body)
    except ActionError as exc:
        return ToolOutcome(f"Edit rejected: {exc}", ok=False)
    if not path:
        return ToolOutcome("Edit rejected: name the file on the command line: edit <path>", ok=False)
    before = ws.overlay.read(path)
    if before is None:
        if len(blocks) == 1 and blocks[0].search == "" and not ws.env.snapshot.is_dir(path):
            return _create(ws, path, blocks)  # an empty SEARCH on a new path creates the file
        return _missing_file(ws, path)
    after = before
    for n, block in enumerate(blocks, 1):
        updated, why = _apply(after, block)
        if updated is None:
            which = f"block {n} of {len(blocks)}: " if len(blocks) > 1 else ""
            return ToolOutcome(f"Edit rejected ({which}nothing was changed). {why}", ok=False)
        after = updated
    error = _syntax_error(ws, path, after)
    if error:
        return ToolOutcome(f"Edit rejected and reverted: {path} would no longer parse ({error}). Fix the indentation "
                           "or brackets of your REPLACE text.", ok=False)
    ws.overlay.write(path, after)
    ws.identified = [shift_span(span, before, after) if span.path == path else span for span in ws.identified]
    warning = " Note: this is a test file; the tests are replaced when the patch is judged." if is_test_path(path) else ""
    return ToolOutcome(f"Edited {path}.{warning} The changed region now reads:\n{_changed_region(before, after)}", changed=(path,))


def finish(ws: Workspace, action: Action) -> ToolOutcome:
    return ToolOutcome("Finished.", done=True)


TOOLS: dict[str, Callable[[Workspace, Action], ToolOutcome]] = {
    "find_files": find_files, "find_definition": find_definition, "search_code": search_code,
    "view": view, "identify": identify, "edit": edit, "finish": finish,
}


def run_tool(ws: Workspace, action: Action) -> ToolOutcome:
    tool = TOOLS.get(action.name)
    if tool is None:
        return ToolOutcome(f"Unknown command {action.name!r}.", ok=False)
    outcome = tool(ws, action)
    limit = ws.env.tools.observation_max_chars
    observation = (action.note + "\n" if action.note else "") + _clip(outcome.observation, limit)
    return ToolOutcome(observation, outcome.ok, outcome.changed, outcome.done)
