"""Vote keys of patches: equivalent edits share a key.

A patch is read as, per touched file, what its header says (new, deleted, renamed or copied
from where, mode changes) and the lines it removes and adds (hunk positions, context lines
and `index` blob ids are ignored: two patches making the same edit with different context or
offsets are one vote). Python code is compared by its tokens: comments, blank lines, line
breaks inside brackets, spacing and quote style do not split a vote; where a block parses on
its own, by its AST (redundant parentheses, trailing commas), without its bare string
statements: a change that only adds, removes or rewrites whole docstrings is documentation,
like a comment, and does not split a vote (an edit to some lines inside a docstring that the
hunk does not hold whole is compared as text, and does split it). Indentation is kept as
relative INDENT/DEDENT tokens, since it is meaning in Python. Other files: lines with
whitespace collapsed. Line endings count: a patch with CRLF lines does not merge with its LF
twin (one of them may not apply). New files at the repository root (agents' reproduction
scripts) do not vote. A patch that cannot be parsed (binary, garbage, a miscounted hunk) keys
by its whitespace-collapsed text. Keys are cached per patch text (a pool asks many times).
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import textwrap
import tokenize
from functools import lru_cache

from harness.problems.patches import _Corrupt, parse_patch  # noqa: PLC2701 - the project's own diff reader

_SPACE = re.compile(r"\s+")


def _python_tokens(block: str) -> str:
    source = textwrap.dedent(block)
    try:
        return "ast:" + ast.dump(_without_docstrings(ast.parse(source)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
                continue
            if tok.type == tokenize.STRING:
                out.append(_string_value(tok.string))
            elif tok.type == tokenize.NEWLINE:
                out.append("\n")
            elif tok.type == tokenize.INDENT:
                out.append("<in>")
            elif tok.type == tokenize.DEDENT:
                out.append("<de>")
            else:
                out.append(tok.string)
    except tokenize.TokenError:
        pass  # EOF inside brackets: every token was already read
    except (IndentationError, SyntaxError, RecursionError, MemoryError):
        return "txt:" + _plain(block)  # cut short: the tokens so far would merge different edits
    return "tok:" + " ".join(out)


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """Bare string statements dropped (docstrings; elsewhere they do nothing); an emptied body gets `pass`."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            kept = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                            and isinstance(s.value.value, str))]
            node.body = kept or ([ast.Pass()] if not isinstance(node, ast.Module) else [])
    return tree


def _string_value(literal: str) -> str:
    try:
        return repr(ast.literal_eval(literal))
    except (ValueError, SyntaxError):
        return literal


def _plain(block: str) -> str:
    return "\n".join(_SPACE.sub(" ", line).strip() for line in block.splitlines() if line.strip())


def _change_runs(lines: list[str]) -> list[tuple[str, str]]:
    """(removed, added) text of each run of consecutive changed lines in a hunk."""
    runs: list[tuple[str, str]] = []
    removed: list[str] = []
    added: list[str] = []
    for line in [*lines, " "]:
        if line.startswith("-"):
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
        elif line.startswith("\\"):
            continue
        elif removed or added:
            runs.append(("".join(removed), "".join(added)))
            removed, added = [], []
    return runs


def _scratch_file(header_lines: list[str], path: str) -> bool:
    """A new file at the repository root (an agent's reproduce_bug.py): not part of the fix's vote.
    The submitted patch keeps it; only the vote ignores it."""
    created = any(line.startswith(("new file mode", "--- /dev/null")) for line in header_lines)
    return created and "/" not in path


# What a file header says that changes the tree (not `index` blob ids, not the similarity score).
_HEADER_FACTS = ("new file mode", "deleted file mode", "old mode", "new mode", "rename from", "rename to",
                 "copy from", "copy to")


def _header_facts(header_lines: list[str]) -> str:
    facts = [line.rstrip("\r\n") for line in header_lines if line.startswith(_HEADER_FACTS)]
    created = any(line.startswith("--- /dev/null") for line in header_lines)
    deleted = any(line.startswith("+++ /dev/null") for line in header_lines)
    facts += ["created"] * created + ["deleted"] * deleted
    return "[" + "; ".join(sorted(set(facts))) + "]" if facts else ""


def normalized_patch(patch: str) -> str:
    """The normalized text two equivalent patches share (see the module docstring)."""
    crlf = "crlf:" if "\r\n" in patch else ""
    try:
        files = parse_patch(patch)
    except _Corrupt:
        return crlf + "raw:" + _plain(patch)
    if not files:
        return crlf + "raw:" + _plain(patch)
    parts: list[str] = []
    for file_patch in sorted(files, key=lambda f: f.path() or ""):
        path = file_patch.path() or ""
        if _scratch_file(file_patch.header_lines, path):
            continue
        norm = _python_tokens if path.endswith(".py") else _plain
        runs = [run for hunk in file_patch.hunks for run in _change_runs(hunk.lines)]
        changes = [(norm(old), norm(new)) for old, new in runs]
        # a run that only moves comments, blank lines or formatting changes nothing
        parts.append(path + _header_facts(file_patch.header_lines)
                     + "".join(f"\n-{old}\n+{new}" for old, new in changes if old != new))
    return crlf + "\n\n".join(parts)


def _key(normalized: str) -> str:
    return hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()[:20]


# The class of patches that change nothing in the repository proper (only new scratch files at the
# root: an agent that wrote its reproduction script and no fix). It votes only where nothing else does.
NO_OP_KEY = _key("")


@lru_cache(maxsize=8192)
def vote_key(patch: str) -> str | None:
    """The vote class of a patch; None for an empty patch (it never votes)."""
    if not patch.strip():
        return None
    return _key(normalized_patch(patch))
