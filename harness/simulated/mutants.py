"""Broken variants of a reference program: the wrong programs the simulated model writes.

Each mutant is a slip a model makes (off by one, a wrong operator, a missing return or print,
a syntax error, an infinite loop) and differs from the original by its canonical key.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from dataclasses import dataclass

from harness.problems.code_common import parses_as_python, python_key, python_tree


@dataclass(frozen=True)
class Mutant:
    kind: str  # off_by_one, wrong_operator, missing_return, missing_output, syntax_error, infinite_loop
    source: str


_SWAPPED_OPS: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
    ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.And: ast.Or, ast.Or: ast.And, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}


class _Source:
    """Source text with node positions (UTF-8 byte columns) mapped to string offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0]
        for line in text.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))

    def offset(self, lineno: int, col_bytes: int) -> int:
        start = self.line_starts[lineno - 1]
        line = self.text[start:self.line_starts[lineno]] if lineno < len(self.line_starts) else self.text[start:]
        return start + len(line.encode("utf-8")[:col_bytes].decode("utf-8", errors="ignore"))

    def replace(self, node: ast.AST, new_text: str) -> str:
        begin = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return self.text[:begin] + new_text + self.text[end:]


def _swapped_operator(node: ast.AST) -> ast.AST | None:
    """A copy of node with its operator swapped for a plausible wrong one."""
    if isinstance(node, ast.BinOp | ast.AugAssign | ast.BoolOp) and type(node.op) in _SWAPPED_OPS:
        return _with(node, op=_SWAPPED_OPS[type(node.op)]())
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAPPED_OPS:
        return _with(node, ops=[_SWAPPED_OPS[type(node.ops[0])](), *node.ops[1:]])
    return None


def _with(node: ast.AST, **changes: object) -> ast.AST:
    copy = type(node)(**{field: getattr(node, field) for field in node._fields})
    for name, value in changes.items():
        setattr(copy, name, value)
    return copy


def _expression_mutants(src: _Source, nodes: list[ast.AST], rng: random.Random) -> Iterator[Mutant]:
    for node in nodes:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            step = 1 if node.value <= 0 or rng.random() < 0.5 else -1
            yield Mutant("off_by_one", src.replace(node, repr(node.value + step)))
        elif (swapped := _swapped_operator(node)) is not None:
            yield Mutant("wrong_operator", src.replace(node, ast.unparse(swapped)))


def _statement_mutants(src: _Source, nodes: list[ast.AST]) -> Iterator[Mutant]:
    nodes = sorted((n for n in nodes if isinstance(n, ast.stmt)), key=lambda n: (n.lineno, n.col_offset))
    returns = [n for n in nodes if isinstance(n, ast.Return) and n.value is not None]
    prints = [n for n in nodes if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
              and isinstance(n.value.func, ast.Name) and n.value.func.id == "print"]
    if returns:  # the last return usually carries the main result
        yield Mutant("missing_return", src.replace(returns[-1], "pass"))
    if prints:
        yield Mutant("missing_output", src.replace(prints[-1], "pass"))


def _syntax_error(text: str, first_line: int) -> Mutant | None:
    lines = text.splitlines(keepends=True)
    for index in range(first_line - 1, len(lines)):
        stripped = lines[index].rstrip()
        if stripped.endswith(":") and not stripped.lstrip().startswith("#"):
            broken = lines[:index] + [stripped[:-1] + lines[index][len(stripped):]] + lines[index + 1:]
            candidate = "".join(broken)
            if not parses_as_python(candidate):
                return Mutant("syntax_error", candidate)
    region_start = sum(len(line) for line in lines[: first_line - 1])
    paren = text.rfind(")", region_start)  # else an unclosed call: the other slip models make
    if paren >= 0 and not parses_as_python(candidate := text[:paren] + text[paren + 1:]):
        return Mutant("syntax_error", candidate)
    return None


def _infinite_loop(text: str, body: list[ast.stmt]) -> Mutant | None:
    """`while True: pass` before the first statement of the region, at its indentation."""
    if not body:
        return None
    first = body[0]
    lines = text.splitlines(keepends=True)
    indent = " " * first.col_offset
    loop = [f"{indent}while True:\n", f"{indent}    pass\n"]
    return Mutant("infinite_loop", "".join(lines[: first.lineno - 1] + loop + lines[first.lineno - 1:]))


def python_mutants(text: str, first_line: int, seed: int) -> list[Mutant]:
    """Broken variants of a Python program, changing only lines from `first_line` (1-based)
    on: every one differs from the original by its key. Deterministic in the seed."""
    tree = python_tree(text)
    if tree is None:
        return []
    rng = random.Random(seed)
    src = _Source(text)
    nodes = [n for n in ast.walk(tree) if getattr(n, "lineno", 0) >= first_line]
    found = list(_expression_mutants(src, nodes, rng)) + list(_statement_mutants(src, nodes))
    found += [m for m in (_syntax_error(text, first_line), _infinite_loop(text, _region_body(tree, first_line))) if m]
    original = python_key(text)
    unique: dict[str, Mutant] = {}
    for mutant in found:
        key = python_key(mutant.source)
        if key != original and key not in unique:
            unique[key] = mutant
    return list(unique.values())


def _region_body(tree: ast.Module, first_line: int) -> list[ast.stmt]:
    """The statements a loop can be put before: the first function body in the region, or the module's."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            body = [s for s in node.body if not _is_docstring(s)]
            if body and body[0].lineno >= first_line:
                return body
    return [s for s in tree.body if s.lineno >= first_line and not _is_docstring(s)]


def _is_docstring(statement: ast.stmt) -> bool:
    value = statement.value if isinstance(statement, ast.Expr) else None
    return isinstance(value, ast.Constant) and isinstance(value.value, str)


_POOL_RANGE = (6, 40)  # how many wrong programs a problem's pool holds, at most


def pick_mutants(mutants: list[Mutant], seed: int) -> list[Mutant]:
    """A problem's wrong programs in popularity order: logic slips first, at most one
    syntax error early, at most one infinite loop, always last (so rarest)."""
    rng = random.Random(seed)
    logic = [m for m in mutants if m.kind not in ("syntax_error", "infinite_loop")]
    rng.shuffle(logic)
    count = rng.randint(*_POOL_RANGE)
    chosen = logic[: count - 2]
    syntax = [m for m in mutants if m.kind == "syntax_error"][:1]
    loops = [m for m in mutants if m.kind == "infinite_loop"][:1]
    if syntax:
        chosen.insert(min(len(chosen), 1 + int(rng.random() * 4)), syntax[0])
    return chosen + loops
