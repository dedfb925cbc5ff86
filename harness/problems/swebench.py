"""SWE-bench: a repository, an issue, and hidden tests; the candidate is a patch.

Rows come from JSON / JSONL files, the hub, or a swebench 5 task repo directory
(harness.problems.task_repo, read with swebench's own `swebench.task.repo.load_task`). swebench >= 5 rows carry everything the
pinned swebench needs to evaluate them: `image`, `eval_script`, `log_parser`, `eval_type`
(besides `instance_id`, `repo`, `version`, `FAIL_TO_PASS`, `PASS_TO_PASS`, which may be JSON
strings or lists). The older 12-field rows (SWE-bench Lite as first published) lack those
four; for them we derive what swebench itself defines:

- `image`: swebench's published name for the instance image (`ImageSpec.name`:
  `sweb.eval.x86_64.<instance_id>:latest`);
- `log_parser`: the parser swebench maps the repository to (`MAP_REPO_TO_PARSER_*`), by its
  name in `PARSER_REGISTRY`;
- `eval_type`: `fail_only` for swebench's FAIL_ONLY_REPOS, else `pass_and_fail`.

The eval script cannot be derived: swebench 5 no longer builds eval scripts from its
repo/version tables, it takes them from the dataset. A row without one is refused with a
message saying what to provide. Problem id = `instance_id`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.problems.base import DatasetError, typed_settings
from harness.problems.datasets import (
    SourceRow,
    check_unique_ids,
    read_source_rows,
    select_rows,
    wanted_ids,
)
from harness.problems.patches import extract_patch, patch_key
from harness.problems.task_repo import read_task_repo
from harness.records import Candidate, Problem

if TYPE_CHECKING:
    from harness.config import DatasetConfig, VerifyConfig
    from harness.verifiers.swebench import SWEBenchSettings, SWEBenchVerifier

TASK_NAME = "swebench"
SPEC_FIELDS = ("image", "eval_script", "log_parser", "eval_type")
NEEDS_EVAL_SCRIPT = (
    "swebench {version} takes the eval script from the dataset and cannot derive it from repo/version. "
    "Provide rows that carry 'image', 'eval_script', 'log_parser' and 'eval_type' (a swebench >= 5 export of "
    "the dataset, e.g. the current SWE-bench/SWE-bench_Lite on the hub), or add an 'eval_script' field to each "
    "row (the eval.sh of a swebench task repo)"
)
INSTRUCTIONS = (
    "Resolve the issue below in the repository {repo}, checked out at commit {commit} in /testbed. "
    "Answer with one patch in unified diff format, as `git diff` prints it (paths a/... and b/... relative to "
    "the repository root), inside a ```diff fenced block. Change only source files; the tests are replaced "
    "by the hidden tests when your patch is evaluated."
)


# --- rows -> problems -----------------------------------------------------------------------


def _test_list(row: SourceRow, name: str) -> list[str]:
    value = row.data.get(name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DatasetError(f"{row.where()}: '{name}' is a string but not a JSON list of test names") from None
    if not isinstance(value, list) or not all(isinstance(test, str) for test in value):
        raise DatasetError(f"{row.where()}: '{name}' must be a list of test names (or a JSON string of one)")
    return value


def _required_text(row: SourceRow, name: str) -> str:
    value = row.data.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name == "version":
        value = str(value)  # versions like 3.0 arrive as numbers from some exports
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{row.where()}: missing or empty '{name}'")
    return value


def derived_image(instance_id: str) -> str:
    """swebench's own name for an instance image (ImageSpec.name, no registry namespace)."""
    from swebench.image_builder.image_spec import ImageSpec  # noqa: PLC0415

    return ImageSpec(instance_id=instance_id, dockerfile="(prebuilt)", namespace=None).name


def derived_log_parser(repo: str) -> str | None:
    """The PARSER_REGISTRY name of the parser swebench maps `repo` to; None for an unknown repo."""
    from swebench.harness.log_parsers import (  # noqa: PLC0415
        PARSER_REGISTRY,
        c,
        go,
        java,
        javascript,
        php,
        python,
        ruby,
        rust,
    )

    maps = (python.MAP_REPO_TO_PARSER_PY, javascript.MAP_REPO_TO_PARSER_JS, c.MAP_REPO_TO_PARSER_C,
            go.MAP_REPO_TO_PARSER_GO, java.MAP_REPO_TO_PARSER_JAVA, php.MAP_REPO_TO_PARSER_PHP,
            ruby.MAP_REPO_TO_PARSER_RUBY, rust.MAP_REPO_TO_PARSER_RUST)
    parser = next((table[repo] for table in maps if repo in table), None)
    if parser is None:
        return None
    return next((name for name, function in PARSER_REGISTRY.items() if function is parser), None)


def derived_eval_type(repo: str) -> str:
    from swebench.harness.constants import FAIL_ONLY_REPOS, EvalType  # noqa: PLC0415

    return (EvalType.FAIL_ONLY if repo in FAIL_ONLY_REPOS else EvalType.PASS_AND_FAIL).value


def complete_row(row: SourceRow) -> dict[str, Any]:
    """The row with the fields make_test_spec needs, derived where swebench defines them."""
    data = dict(row.data)
    instance_id, repo = _required_text(row, "instance_id"), _required_text(row, "repo")
    data["version"] = _required_text(row, "version")
    data["FAIL_TO_PASS"], data["PASS_TO_PASS"] = _test_list(row, "FAIL_TO_PASS"), _test_list(row, "PASS_TO_PASS")
    data["image"] = data.get("image") or derived_image(instance_id)
    data["log_parser"] = data.get("log_parser") or derived_log_parser(repo)
    data["eval_type"] = data.get("eval_type") or derived_eval_type(repo)
    if not data["log_parser"]:
        raise DatasetError(f"{row.where()}: no 'log_parser', and swebench maps no parser to repo {repo!r}; "
                           "add 'log_parser' (a name in swebench.harness.log_parsers.PARSER_REGISTRY)")
    _check_spec_fields(row, data)
    return data


def _check_spec_fields(row: SourceRow, data: dict[str, Any]) -> None:
    from swebench.harness.constants import EvalType  # noqa: PLC0415
    from swebench.harness.log_parsers import PARSER_REGISTRY  # noqa: PLC0415

    if data["log_parser"] not in PARSER_REGISTRY:
        raise DatasetError(f"{row.where()}: log_parser {data['log_parser']!r} is not a swebench parser "
                           f"(known: {', '.join(sorted(PARSER_REGISTRY)[:6])}, ...)")
    if data["eval_type"] not in {kind.value for kind in EvalType}:
        raise DatasetError(f"{row.where()}: eval_type {data['eval_type']!r} must be one of "
                           f"{', '.join(kind.value for kind in EvalType)}")
    script = data.get("eval_script")
    if script is not None and (not isinstance(script, str) or not script.strip()):
        raise DatasetError(f"{row.where()}: 'eval_script' must be a non-empty shell script")


def problem_from_row(row: SourceRow) -> Problem:
    data = complete_row(row)
    question = data.get("problem_statement")
    if not isinstance(question, str):
        raise DatasetError(f"{row.where()}: missing 'problem_statement'")
    return Problem(id=str(data["instance_id"]), task=TASK_NAME, question=question, data=data)


def require_eval_scripts(rows: list[SourceRow], problems: list[Problem]) -> None:
    """One message for all rows without an eval script (old 12-field rows lack it everywhere)."""
    from harness.verifiers.swebench import swebench_version  # noqa: PLC0415

    missing = [(row, p) for row, p in zip(rows, problems, strict=True) if not p.data.get("eval_script")]
    if not missing:
        return
    row, problem = missing[0]
    raise DatasetError(f"{row.source}: {len(missing)} of {len(problems)} selected rows have no 'eval_script' "
                       f"(first: line {row.line}, {problem.id}). " + NEEDS_EVAL_SCRIPT.format(version=swebench_version()))


# --- the task ---------------------------------------------------------------------------------


class SWEBenchTask:
    name = TASK_NAME
    default_stop: tuple[str, ...] = ()

    def __init__(self, settings: SWEBenchSettings | None = None) -> None:
        self.settings = settings
        self.skipped: dict[str, str] = {}  # instance id -> why the last load left it out (task repos)

    def settings_model(self) -> type[SWEBenchSettings]:
        from harness.verifiers.swebench import SWEBenchSettings  # noqa: PLC0415 - keeps task import light

        return SWEBenchSettings

    def configure(self, verify: VerifyConfig) -> None:
        """`verify.workers` is the number of containers; `verify.options` any SWEBenchSettings
        field, e.g. {"eval_timeout_s": 900, "flake_runs": 5} (ConfigError naming a bad one)."""
        self.settings = typed_settings(self.settings_model(), verify.options, containers=verify.workers)

    def load(self, dataset: DatasetConfig) -> list[Problem]:
        """Rows from a file, the hub or a task repo directory. In a task repo an unreadable task is left out
        with its message in `skipped` (the run records it); in a file a bad row stops the load."""
        self.skipped = {}
        if dataset.path is not None and Path(dataset.path).is_dir():
            return self._load_task_repo(dataset)
        rows = read_source_rows(dataset)
        problems = [problem_from_row(row) for row in rows]
        check_unique_ids(problems, rows[0].source if rows else "dataset")
        selected = select_rows(problems, dataset)
        by_id = {str(row.data.get("instance_id")): row for row in rows}
        require_eval_scripts([by_id[p.id] for p in selected], selected)
        return selected

    def _load_task_repo(self, dataset: DatasetConfig) -> list[Problem]:
        root = Path(str(dataset.path))
        repo = read_task_repo(root, dataset.split, wanted_ids(dataset))
        problems, rows = [], []
        for row in repo.rows:
            try:
                if not str(row.data.get("eval_script") or "").strip():
                    raise DatasetError(f"{row.where()}: eval.sh is empty")
                problem = problem_from_row(row)
            except DatasetError as exc:
                repo.bad[str(row.data.get("instance_id"))] = str(exc)
                continue
            problems.append(problem)
            rows.append(row)
        self.skipped = dict(sorted(repo.bad.items()))
        for message in self.skipped.values():
            print(f"monkeys: skipped {message}", file=sys.stderr)
        selected = select_rows(problems, dataset.model_copy(update={"ids": None, "ids_file": None}))
        if not selected and self.skipped:
            raise DatasetError(f"{root}: no readable task selected; {len(self.skipped)} left out: "
                               + "; ".join(list(self.skipped.values())[:3]))
        return selected

    def image_of(self, problem: Problem) -> str:
        return str(problem.data["image"])

    def skipped_instances(self) -> dict[str, str]:
        """Instances of the dataset left out by the last load, each with what is wrong with it."""
        return dict(self.skipped)

    def build_prompt(self, problem: Problem, chat: bool) -> str | list[dict[str, str]]:
        header = INSTRUCTIONS.format(repo=problem.data.get("repo", "?"), commit=problem.data.get("base_commit", "?"))
        text = f"{header}\n\n<issue>\n{problem.question.strip()}\n</issue>\n"
        if chat:
            return [{"role": "user", "content": text}]
        return text + "\nPatch:\n"

    def extract(self, problem: Problem, text: str) -> Candidate | None:
        patch = extract_patch(text)
        if patch is None:
            return None
        return Candidate(problem_id=problem.id, key=patch_key(patch), content=patch)

    def verifier(self) -> SWEBenchVerifier:
        from harness.verifiers.swebench import SWEBenchVerifier  # noqa: PLC0415

        return SWEBenchVerifier(self.settings)
