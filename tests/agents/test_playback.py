"""Gold patches reached through the agent's own actions (agents.playback): the scripted gold trajectory and
the simulated model, on the toy instance and on a made-up repository with what real gold patches hold
(several files and hunks, a hunk whose context repeats in the file, a hunk header a few lines off,
numpydoc ======= underlines, a form feed, tabs, non-ASCII text, a file without a final newline, a new file)."""

from __future__ import annotations

import asyncio
import random
import subprocess
from pathlib import Path

import pytest

from agents.config import AgentConfig, Budgets
from agents.loop import AttemptResult, EndStatus
from agents.model import BackendClient
from agents.playback import Unplayable, edit_steps
from agents.repo import RepoSnapshot
from agents.runner import AgentRunner, Environments
from agents.scripted import ScriptedBackend
from agents.simulate import SimulatedAgentBackend
from agents.tools import Environment
from harness.records import Problem
from tests.agents.helpers import gold_script, patched_files, run_all, spec

BLOCK = '''        args = list(args)
        # flatten inputs to merge nested ones
        args = _flatten(args)

        # Reduce sets using known rules
        if evaluate:
            return simplify(args)
        return args

    def __repr__(self):
        # the same in both classes: six lines of context
        # around the block do not tell them apart
        parts = [str(arg) for arg in self.args]
        text = ", ".join(parts)
        return f"{type(self).__name__}({text})"
'''


def _core() -> str:
    head = '"""Sets, union and intersection."""\n\n\ndef _flatten(args):\n    return args\n\n\ndef simplify(args):\n    return args\n\n\x0c\n'
    doc = ('    """Combine sets.\n\n    Parameters\n    ==========\n\n    args : sets\n\n    Returns\n    =======\n\n'
           '    A set.\n\n    Examples\n    ========\n\n    >>> Union(1)\n    """\n')
    classes = [f"class {name}:\n{doc}\n    def __new__(cls, *args, evaluate=True):\n{BLOCK}\n"
               + "".join(f"    def {name.lower()}_{n}(self):\n        return {n}\n\n" for n in range(12)) for name in ("Union", "Intersection")]
    return head + "\n".join(classes)


BEFORE = {
    "pkg/__init__.py": "",
    "pkg/core.py": _core(),
    "pkg/text.py": 'def greet(name):\n\tif not name:\n\t\treturn "Bonjour, inconnu"\n\treturn f"Bonjour {name} \u2192 caf\u00e9"\n',
    "docs/notes.txt": "Notes\n=====\n\nThe last line has no newline",
}


def _after() -> dict[str, str]:
    after = dict(BEFORE)
    core = after["pkg/core.py"]
    second = core.index("class Intersection")  # the block's lines also occur in Union: the edit must say which
    after["pkg/core.py"] = (core[:second] + core[second:].replace("        args = _flatten(args)\n", "        args = sorted(set(_flatten(args)))\n", 1)
                            .replace("    def intersection_11(self):\n        return 11\n", "    def intersection_11(self):\n        return 11 + 0\n"))
    after["pkg/core.py"] = after["pkg/core.py"].replace("def simplify(args):\n    return args\n", "def simplify(args):\n    return tuple(args)\n")
    after["pkg/text.py"] = BEFORE["pkg/text.py"].replace('"Bonjour, inconnu"', '"Bonjour, \u00e9tranger \u00e0 Z\u00fcrich"')
    after["docs/notes.txt"] = "Notes\n=====\n\nThe last line still has no newline, and says so"
    after["pkg/extra.py"] = "def extra():\n    return '\u2713'\n"
    return after


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Problem, Environment]:
    root = tmp_path_factory.mktemp("synthetic")
    for path, text in BEFORE.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    work = tmp_path_factory.mktemp("synthetic-after")
    _git(work, "clone", "-q", str(root), ".")
    for path, text in _after().items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text, encoding="utf-8")
    _git(work, "add", "-A")
    gold = _git(work, "diff", "--cached")
    # A header a few lines off, as in real gold patches (git applies it with an offset).
    hunk = next(line for line in gold.splitlines() if line.startswith("@@") and "return 11" not in line and int(line.split()[1].split(",")[0][1:]) > 40)
    start = int(hunk.split()[1].split(",")[0][1:])
    gold = gold.replace(hunk, hunk.replace(f"-{start},", f"-{start - 9},", 1).replace(f"+{start},", f"+{start - 9},", 1), 1)
    problem = Problem(id="synthetic__sets-1", task="swebench", question="Intersection keeps duplicate arguments.",
                      data={"repo": "synthetic/sets", "base_commit": _git(root, "rev-parse", "HEAD").strip(), "patch": gold})
    shutil_free = RepoSnapshot(root, [p for p in BEFORE])  # the tree as the agent sees it (no .git)
    return problem, Environment.build(shutil_free, AgentConfig().tools)


def test_the_synthetic_gold_patch_has_what_real_ones_have(synthetic: tuple[Problem, Environment], tmp_path: Path) -> None:
    problem, env = synthetic
    gold = str(problem.data["patch"])
    assert gold.count("diff --git") == 4 and "new file mode" in gold and "\\ No newline at end of file" in gold
    assert "\t" in gold and "\u00e9" in gold and gold.count("\n@@") >= 6
    core = (env.snapshot.root / "pkg/core.py").read_text()
    assert core.count(BLOCK) == 2 and "\x0c" in core  # the hunk context repeats; a form feed precedes it
    files = patched_files(env.snapshot.root, gold, tmp_path)  # git applies it, offset and all
    assert files["pkg/core.py"] == _after()["pkg/core.py"] and files["pkg/extra.py"] == _after()["pkg/extra.py"]


def _run(problem: Problem, env: Environment, backend: object, trajectories: Path, indices: range, config: AgentConfig,
         chat: bool = True) -> list[AttemptResult]:
    async def go() -> list[AttemptResult]:
        client = BackendClient(backend)  # type: ignore[arg-type]
        runner = AgentRunner(client, config, Environments(lambda _p: env), trajectories, chat)
        try:
            return [r async for r in runner.run((problem, spec(problem, i)) for i in indices)]
        finally:
            await client.aclose()

    return sorted(asyncio.run(go()), key=lambda r: r.spec.index)


@pytest.mark.parametrize(("action_format", "chat"), [("text", True), ("tools", True), ("text", False)])
def test_the_scripted_gold_trajectory_reaches_the_gold_patch(synthetic: tuple[Problem, Environment], tmp_path: Path,
                                                             action_format: str, chat: bool) -> None:
    problem, env = synthetic
    config = AgentConfig(budgets=Budgets(max_steps=40), action_format=action_format)  # type: ignore[arg-type]
    backend = ScriptedBackend({(problem.id, 0): gold_script(problem)})
    [result] = _run(problem, env, backend, tmp_path / "t", range(1), config, chat)
    # Rejections a model would get too: a view past the end of a short file, and the repeated block's
    # edit with six lines of context (it occurs twice), answered by the same edit with more context.
    assert result.status is EndStatus.FINISHED and result.totals.rejected <= 3 and result.totals.format_errors == 0
    gold = str(problem.data["patch"])
    assert patched_files(env.snapshot.root, result.patch, tmp_path / "a") == patched_files(env.snapshot.root, gold, tmp_path / "b")


def test_the_scripted_gold_trajectory_resolves_the_toy_instance_files(toy_problem: Problem, toy_env: Environment, tmp_path: Path) -> None:
    backend = ScriptedBackend({(toy_problem.id, 0): gold_script(toy_problem)})
    [result] = run_all(backend, toy_problem, toy_env, tmp_path, config=AgentConfig(budgets=Budgets(max_steps=20)))
    gold = str(toy_problem.data["patch"])
    assert result.status is EndStatus.FINISHED and result.totals.rejected <= 1  # at most a view past the end of the file
    assert patched_files(toy_env.snapshot.root, result.patch, tmp_path / "a") == patched_files(toy_env.snapshot.root, gold, tmp_path / "b")


def test_the_simulated_model_reaches_the_gold_patch_exactly_when_it_drew_success(synthetic: tuple[Problem, Environment], tmp_path: Path) -> None:
    problem, env = synthetic
    probability = 0.4
    backend = SimulatedAgentBackend([problem], lambda _pid: probability, max_steps=40)
    results = _run(problem, env, backend, tmp_path / "t", range(40), AgentConfig(budgets=Budgets(max_steps=40)))
    want = patched_files(env.snapshot.root, str(problem.data["patch"]), tmp_path / "gold")
    reached = [bool(r.patch) and patched_files(env.snapshot.root, r.patch, tmp_path / f"r{r.spec.index}") == want for r in results]
    drawn = [random.Random(f"agent:{problem.id}:{r.spec.seed}").random() < probability for r in results]
    assert reached == drawn  # every success drawn is reached through the tools, and nothing else reaches it
    assert 0.2 <= sum(reached) / len(reached) <= 0.6
    assert any(r.patch and not ok for r, ok in zip(results, reached, strict=True))  # wrong attempts edit too


def test_a_deleted_file_is_named_as_unplayable() -> None:
    patch = "diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x = 1\n"
    with pytest.raises(Unplayable, match="old.py: the patch deletes the file"):
        edit_steps(patch)
