"""Declared seams, read off the source: one module speaks SQL, capabilities are not probed with
hasattr, and a task is load, prompt, extract, verifier (what the simulated model writes is not the task's)."""

from __future__ import annotations

import ast
import random
import re
from pathlib import Path

import pytest

from harness.records import Problem
from harness.registry import TASKS, _import
from harness.simulated import MAKERS, PlaysItself, output_maker
from tests.layering import PACKAGES, ROOT

STORE = ROOT / "harness" / "store.py"
SQL = re.compile(r"^\s*(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|PRAGMA)\b",
                 re.IGNORECASE | re.DOTALL)


def python_files() -> list[Path]:
    return [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]


def trees() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in python_files()]


def test_sql_only_in_the_store() -> None:
    offenders = []
    for path, tree in trees():
        if path == STORE:
            continue
        for node in ast.walk(tree):
            imported = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[0] == "sqlite3" for name in imported):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports sqlite3")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: SQL text {node.value[:40]!r}")
    assert not offenders, "\n".join(offenders)
    assert "import sqlite3" in STORE.read_text(encoding="utf-8")  # the check looks where SQL is


def test_the_sql_check_sees_sql() -> None:
    assert SQL.match("SELECT key FROM candidates WHERE problem_id = ?")
    assert SQL.match("\n  INSERT OR IGNORE INTO verdicts VALUES (?)")
    assert not SQL.match("select one patch per instance") and not SQL.match("monkeys select runs/x")


def test_no_hasattr_probes() -> None:
    """Optional capabilities are Protocols checked with isinstance (docs/architecture.md)."""
    offenders = [f"{path.relative_to(ROOT)}:{node.lineno}" for path, tree in trees() for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr"]
    assert not offenders, offenders


@pytest.mark.parametrize("name", sorted(TASKS))
def test_tasks_do_not_write_simulated_outputs(name: str) -> None:
    task_class = _import(TASKS[name])
    assert not issubclass(task_class, PlaysItself) and not hasattr(task_class, "simulate_output")
    task = task_class()
    assert task.name in MAKERS  # the simulated model finds its maker by the task's name
    assert output_maker(task) is not None


def test_a_task_outside_the_table_plays_itself_or_not_at_all() -> None:
    from tests.harness.toy_task import ToyTask

    class Unplayable(ToyTask):
        name = "unplayable"
        simulate_output = None  # a method set to None: the protocol is not met

    problem = Problem(id="p", task="toy", question="What is 1 + 2?", answer="3")
    assert "toy" not in MAKERS
    maker = output_maker(ToyTask())
    assert maker is not None and maker(problem, True, random.Random(0)) == "Adding up, the answer is 3"
    assert output_maker(Unplayable()) is None  # type: ignore[arg-type]
