"""Regression filter, reproduction tests and model choice on the toy instance (real Docker engine).
The simulated model plays the test writer (scripted tests) and the chooser."""

from harness.selection.containers import WarmMatrix
from harness.selection.records import CandidatePatch, Pool, PublicInstance
from harness.selection.regression import related_test_files
from harness.selection.reproduction import SimulatedTestWriter
from harness.selection.choice import SimulatedChooser
from harness.selection.selectors import SelectionConfig, Selector
from harness.selection.steps import extra_steps
from sandboxes.base import Limits
from sandboxes.docker import DockerSandbox
from tests.harness.selection.test_containers import BAD, DIV, MEAN
from tests.swebench_toy import toy_patch

BREAKS = toy_patch("gold").replace("+    return a / b", "+    return a * b")


def test_related_tests_are_found_from_the_tree():
    files = ["calc/ops.py", "tests/test_ops.py", "tests/test_flaky.py", "pkg/sub/mod.py", "pkg/sub/tests/test_mod.py"]
    assert related_test_files(["calc/ops.py"], files) == ["tests/test_ops.py"]
    assert related_test_files(["pkg/sub/mod.py", "tests/test_ops.py"], files) == ["pkg/sub/tests/test_mod.py"]
    assert related_test_files(["README.md"], files) == []


def test_filters_then_choice_pick_the_fix(docker_engine, docker_run_id, toy_instance):
    row, image = toy_instance
    gold = toy_patch("gold")
    reformatted = gold.replace("+    return a / b", "+    return (a/b)  # true division")
    patches = [toy_patch("wrong"), BREAKS, gold, toy_patch("partial"), reformatted, BREAKS]
    pool = Pool(instance=PublicInstance.of_row(row),
                candidates=tuple(CandidatePatch(index=i, patch=p) for i, p in enumerate(patches)))
    limits = Limits(wall_s=20, cpu_s=20, output_bytes=64 << 10, processes=128)
    writer = SimulatedTestWriter({row["instance_id"]: [DIV, MEAN, BAD[0], BAD[1]]})
    steps = extra_steps(writer=writer, chooser=SimulatedChooser(), tests_per_instance=4,
                        matrix=lambda img: WarmMatrix(img, workers=2, timeout_s=20, limits=limits,
                                                      sandbox=lambda i: DockerSandbox(i, limits=limits, run_id=docker_run_id,
                                                                                      client=docker_engine)))
    config = SelectionConfig(filters=["regression_filter", "reproduction_rank"], choose="model_choice")
    selection = Selector(config, steps).select(pool)
    regression, repro, choice = selection.steps
    assert sorted(regression.kept) == [0, 2, 3, 4]  # the two copies of BREAKS break test_div_exact
    assert sorted(repro.kept) == [2, 4] and repro.scores[3] == 1.0 and repro.scores[0] == 0.0
    assert any("simulated model" in note for note in repro.notes + choice.notes)
    assert any("passes on the base commit" in n for n in repro.notes) and any("does not parse" in n for n in repro.notes)
    assert selection.selected in (2, 4)
    assert selection.cost.test_executions > 0 and selection.cost.completion_tokens > 0


def test_cli_with_container_steps_reads_no_hidden_field(tmp_path, toy_instance):
    import json

    from harness.cli import main

    row, _ = toy_instance
    gold = toy_patch("gold")
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"instance_id": row["instance_id"], "model_name_or_path": "m", "model_patch": p})
                             + "\n" for p in [toy_patch("wrong"), BREAKS, gold, toy_patch("partial"), BREAKS]))
    script = tmp_path / "tests.jsonl"
    script.write_text("".join(json.dumps({"instance_id": row["instance_id"], "name": t.name, "source": t.source}) + "\n"
                              for t in [DIV, MEAN, BAD[0], BAD[2]]))
    config = tmp_path / "select.yaml"
    config.write_text("selectors:\n  - {filters: [regression_filter, reproduction_rank], choose: model_choice}\n")
    got = []
    for blank in ("none", "empty", "removed"):
        data = dict(row)
        if blank == "empty":
            data.update(FAIL_TO_PASS="[]", PASS_TO_PASS="[]", test_patch="", patch="")
        elif blank == "removed":
            data = {k: v for k, v in data.items() if k not in ("FAIL_TO_PASS", "PASS_TO_PASS", "test_patch", "patch")}
        dataset = tmp_path / f"d{blank}.jsonl"
        dataset.write_text(json.dumps(data) + "\n")
        out = tmp_path / f"o{blank}"
        assert main(["select", "--dataset", str(dataset), "--samples", str(preds), "--out", str(out),
                     "--config", str(config), "--simulated-tests", str(script), "--test-timeout", "8",
                     "--tests-per-instance", "4"]) == 0
        got.append((out / "predictions.jsonl").read_text())
    assert got[0] == got[1] == got[2]
    assert json.loads(got[0])["model_patch"] == gold
    # the discarded tests are recorded with their evidence in selection.json
    (steps,) = [s["steps"] for s in json.loads((tmp_path / "onone" / "selection.json").read_text())[
        "regression_filter+reproduction_rank+model_choice"]]
    evidence = {e["test"]: e for e in steps[1]["evidence"] if "discarded" in e}
    assert evidence["hangs"]["discarded"] == "hangs (timed out)" and "timed out" in evidence["hangs"]["output"]
    assert evidence["passes_on_base"]["discarded"] == "passes on the base commit"
    # graded afterwards: the fix is the only resolved candidate (index 2)
    grades = tmp_path / "verdicts.jsonl"
    grades.write_text("".join(json.dumps({"problem_id": row["instance_id"], "sample_index": i, "passed": i == 2}) + "\n"
                              for i in range(5)))
    out = tmp_path / "graded"
    assert main(["select", "--dataset", str(dataset), "--samples", str(preds), "--out", str(out), "--config", str(config),
                 "--simulated-tests", str(script), "--grades", str(grades), "--test-timeout", "8"]) == 0
    section = json.loads((out / "report.json").read_text())["selection"]
    name = "regression_filter+reproduction_rank+model_choice"
    assert section["selectors"][name]["accuracy"] == 1.0 and section["random"] == 0.2
    assert section["selectors"][name]["cost"]["test_executions"] > 0
    assert section["simulated_model_in"] == [name]
    assert "SIMULATED model" in (out / "report.md").read_text()


def test_a_candidate_that_kills_the_container_is_dropped_and_the_filter_goes_on(docker_engine, docker_run_id, toy_instance):
    from harness.selection.regression import RegressionFilter

    row, _ = toy_instance
    killer = toy_patch("gold").replace(
        "+    return a / b", "+    return (lambda os: [os.kill(int(p), 9) for p in os.listdir('/proc') if p.isdigit() "
        "and int(p) not in (1, os.getpid())])(__import__('os')) or a / b")
    pool = Pool(instance=PublicInstance.of_row(row), candidates=tuple(
        CandidatePatch(index=i, patch=p) for i, p in enumerate([killer, toy_patch("gold"), BREAKS])))
    regression = RegressionFilter(timeout_s=30, limits=Limits(wall_s=30, cpu_s=30, output_bytes=1 << 20, processes=128))
    record, cost = regression.apply(pool, [0, 1, 2])
    assert record.kept == [1]
    assert any(note.startswith("candidate 0 breaks 6") for note in record.notes)  # every test: its run was killed
    assert any(note.startswith("candidate 2 breaks 2") for note in record.notes)  # the next candidate still ran
    # base, then each candidate; one that breaks a test runs twice, unless its container is gone by then
    stopped = any(note.startswith("candidate 0: the container stopped") for note in record.notes)
    assert cost.test_executions == (5 if stopped else 6)


def test_a_test_that_fails_once_with_a_candidate_does_not_drop_it(docker_engine, docker_run_id, toy_instance):
    from harness.selection.regression import RegressionFilter

    row, _ = toy_instance
    # the fix, plus add() that answers wrong on its first call in a container only (a flaky test stand-in)
    flaky = toy_patch("gold").replace(
        "+    return a / b", "+    if not __import__('os').path.exists('/tmp/seen'):\n"
        "+        open('/tmp/seen', 'w').close()\n+        return None\n+    return a / b").replace(
        "@@ -15,10 +15,12 @@", "@@ -15,10 +15,15 @@")
    pool = Pool(instance=PublicInstance.of_row(row), candidates=tuple(
        CandidatePatch(index=i, patch=p) for i, p in enumerate([flaky, BREAKS])))
    regression = RegressionFilter(timeout_s=30, limits=Limits(wall_s=30, cpu_s=30, output_bytes=1 << 20, processes=128))
    record, cost = regression.apply(pool, [0, 1])
    assert record.kept == [0] and record.scores == {0: 0.0, 1: -2.0}
    assert cost.test_executions == 5  # base; flaky twice (its first run broke test_div_exact); BREAKS twice


def test_missing_instance_images_are_refused_before_any_step_runs(tmp_path, docker_engine, capsys):
    import json

    from harness.cli import main

    dataset = tmp_path / "d.jsonl"
    dataset.write_text(json.dumps({"instance_id": "a__b-1", "repo": "a/b", "image": "monkeys-test/absent:none"}) + "\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"instance_id": "a__b-1", "model_patch": toy_patch("gold")}) + "\n")
    config = tmp_path / "c.yaml"
    config.write_text("selectors:\n  - {filters: [regression_filter], choose: majority_vote}\n")
    out = tmp_path / "out"
    assert main(["select", "--dataset", str(dataset), "--samples", str(preds), "--out", str(out), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "1 instance image(s) are not on the Docker engine" in err and "monkeys-test/absent:none" in err
    assert not out.exists()


def test_tests_that_import_an_edited_module_are_found_with_git_grep(tmp_path):
    import subprocess

    from harness.selection.regression import import_pattern

    files = {"src/_pytest/assertion/rewrite.py": "x = 1\n", "pylint/checkers/misc.py": "x = 1\n",
             "testing/test_assertrewrite.py": "from _pytest.assertion.rewrite import x\n",
             "testing/test_other.py": "import _pytest.assertion.rewriter\n",  # another module
             "tests/checkers/unittest_misc.py": "from pylint.checkers import misc\n",
             "tests/checkers/test_misc_format.py": "from pylint.checkers import (base,\n    misc_other)\n",
             "tests/lint/test_misc_run.py": "from pylint.checkers import base, misc\n",
             "pylint/lint/run.py": "from pylint.checkers import misc\n"}  # imports it, but is not a test
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    subprocess.run(["git", "init", "-q", "."], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)

    def importers(pattern: str) -> list[str]:
        found = subprocess.run(["git", "grep", "-l", "-E", pattern, "--", "*test*.py"], cwd=tmp_path,
                               capture_output=True, text=True)
        return found.stdout.split()

    assert importers(import_pattern("_pytest.assertion.rewrite")) == ["testing/test_assertrewrite.py"]
    tree = list(files)
    assert related_test_files(["src/_pytest/assertion/rewrite.py", "test_bug.py"], tree, importers=importers) == [
        "testing/test_assertrewrite.py"]
    # by name first (unittest_misc.py), then nothing else is asked for
    assert related_test_files(["pylint/checkers/misc.py"], tree, importers=importers) == ["tests/checkers/unittest_misc.py"]
    tree.remove("tests/checkers/unittest_misc.py")
    (tmp_path / "tests/checkers/unittest_misc.py").unlink()
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    assert related_test_files(["pylint/checkers/misc.py"], tree, importers=importers) == ["tests/lint/test_misc_run.py"]
