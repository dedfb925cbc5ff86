"""What the code tasks (HumanEval, MBPP, CodeContests) share: finding code in model output
and canonical program keys (the broken programs the simulated model writes: harness.simulated).

Keys decide which samples are executed once for all: two programs get one key only when
they cannot behave differently. Python programs are keyed by `ast.unparse` of their syntax
tree (comments, blank lines, quoting and spacing drop out) unless they read their own source
or line numbers; C++ programs by their lines with trailing blanks and blank lines removed,
unless something (raw strings, __LINE__, line splices) makes layout matter.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.problems.base import NoOptions, typed_settings

if TYPE_CHECKING:
    from harness.config import VerifyConfig


Language = Literal["python", "cpp"]

# --- finding code in a model's output -----------------------------------------------------------

FENCE = "```"
_INFO_STRING = re.compile(r"[A-Za-z][\w+.-]{0,19}")  # "python", "py3", "c++", "cpp"


@dataclass(frozen=True)
class CodeBlock:
    code: str
    tag: str  # the fence's info string, lower-cased ("" when none)
    closed: bool  # False when the output ended inside the block (truncated)


def first_code_block(text: str) -> CodeBlock | None:
    """The first ``` fenced block. The info string is optional and code may start on the
    fence's own line (" ```n = int(input())...```", as few-shot completions write it)."""
    start = text.find(FENCE)
    if start < 0:
        return None
    body = start + len(FENCE)
    while body < len(text) and text[body] == "`":  # ```` opens like ```
        body += 1
    end = text.find(FENCE, body)
    line_end = text.find("\n", body)
    first_line_end = min(x for x in (line_end, end, len(text)) if x >= 0)
    info = text[body:first_line_end].strip()
    tag = ""
    if line_end >= 0 and first_line_end == line_end and (not info or _INFO_STRING.fullmatch(info)):
        tag, body = info.lower(), line_end + 1
    code = text[body:] if end < 0 else text[body:end]
    return CodeBlock(code=code, tag=tag, closed=end >= 0)


def cut_at_stops(text: str, stops: Iterable[str]) -> str:
    """The text before the earliest stop sequence (what a server applying them returns)."""
    cut = len(text)
    for stop in stops:
        index = text.find(stop)
        if 0 <= index < cut:
            cut = index
    return text[:cut]


def parses_as_python(code: str) -> bool:
    return python_tree(code) is not None


def python_tree(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: NUL bytes
        return None


_CPP_MARKERS = re.compile(r"^\s*#\s*include\b|\b(?:int|signed|void|auto)\s+main\s*\(", re.MULTILINE)


def detect_language(code: str) -> Language:
    """C++ when it has C++ markers and is not valid Python; otherwise Python. A function of
    the code alone, so the extractor and the verifier always agree."""
    if _CPP_MARKERS.search(code) and not parses_as_python(code):
        return "cpp"
    return "python"


# --- canonical keys ------------------------------------------------------------------------------

# Names through which a Python program can see its own text or line numbers. Programs using
# any of them keep their exact text as key, since reformatting could change what they do.
_INTROSPECTION = frozenset({
    "inspect", "getsource", "getsourcelines", "currentframe", "_getframe", "f_lineno", "f_back", "f_code",
    "co_firstlineno", "co_lnotab", "co_lines", "co_positions", "co_linetable", "linecache", "traceback",
    "tb_lineno", "tb_frame", "exc_info", "__file__", "__loader__", "__spec__", "get_source", "tokenize",
    "dis", "settrace", "setprofile", "print_exc", "format_exc", "extract_stack", "walk_stack", "lineno",
    "__traceback__", "warnings", "logging",
})


def _is_introspective(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in _INTROSPECTION:
            return True
        if isinstance(node, ast.Attribute) and node.attr in _INTROSPECTION:
            return True
        if isinstance(node, ast.alias) and node.name.split(".")[0] in _INTROSPECTION:
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _INTROSPECTION:
            return True
    return False


def exact_key(code: str) -> str:
    return code.rstrip()


def python_key(code: str) -> str:
    """`ast.unparse` of the program: formatting-only variants share it. Programs that do not
    parse, or that can observe their own layout, are keyed by their exact text."""
    tree = python_tree(code)
    if tree is None or _is_introspective(tree):
        return exact_key(code)
    try:
        return ast.unparse(tree)
    except (RecursionError, ValueError):  # very deep nesting
        return exact_key(code)


# Things that make line layout observable in C++: raw strings, line numbers, line splices.
_CPP_LAYOUT_SENSITIVE = re.compile(r'R"|__LINE__|__builtin_LINE|source_location|\\\s*$', re.MULTILINE)


def cpp_key(code: str) -> str:
    """Lines stripped of trailing blanks, blank lines dropped; exact text where layout matters."""
    if _CPP_LAYOUT_SENSITIVE.search(code):
        return exact_key(code)
    return "\n".join(line.rstrip() for line in code.splitlines() if line.strip())


def program_key(code: str, language: Language) -> str:
    return cpp_key(code) if language == "cpp" else python_key(code)


class SandboxedCodeTask:
    """What every code task shares about its settings: no `verify.options`, and one verify setting,
    running generated code without bubblewrap at the user's explicit risk."""

    unsafe_no_isolation = False  # set by `configure` from the run's verify.unsafe_no_isolation

    def settings_model(self) -> type[NoOptions]:
        return NoOptions

    def configure(self, verify: VerifyConfig) -> None:
        typed_settings(NoOptions, verify.options)
        self.unsafe_no_isolation = verify.unsafe_no_isolation
