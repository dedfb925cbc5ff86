"""Generated tests against candidates in warm containers of the toy instance (real Docker engine)."""

from sandboxes.base import Limits
from sandboxes.docker import DockerSandbox
from harness.selection.containers import GeneratedTest, WarmMatrix, fresh_pair
from tests.swebench_toy import toy_patch

DIV = GeneratedTest(name="div_fraction", source="from calc.ops import div\n\ndef test_div():\n    assert div(7, 2) == 3.5\n")
MEAN = GeneratedTest(name="mean_empty", source=(
    "import pytest\nfrom calc.ops import mean\n\ndef test_mean():\n    with pytest.raises(ValueError):\n        mean([])\n"))
BAD = [
    GeneratedTest(name="passes_on_base", source="def test_ok():\n    assert True\n"),
    GeneratedTest(name="no_parse", source="def test_x(:\n    pass\n"),
    GeneratedTest(name="hangs", source="import time\n\ndef test_h():\n    time.sleep(600)\n"),
    GeneratedTest(name="floods", source="def test_f():\n    while True:\n        print('x' * 4096)\n"),
    GeneratedTest(name="deletes_tree", source="import shutil\n\ndef test_d():\n    shutil.rmtree('/testbed/calc')\n    assert False\n"),
]
# Worse ones: the whole tree gone, every process in the container killed, a fork bomb, a daemon left behind
WORSE = [
    GeneratedTest(name="rm_rf_testbed", source="import subprocess\n\ndef test_r():\n"
                  "    subprocess.run(['rm', '-rf', '/testbed'])\n    assert False\n"),
    GeneratedTest(name="kills_container", source=(
        "import os, signal\n\ndef test_k():\n    for p in os.listdir('/proc'):\n"
        "        if p.isdigit() and int(p) != os.getpid():\n            try:\n"
        "                os.kill(int(p), signal.SIGKILL)\n            except OSError:\n                pass\n"
        "    assert False\n")),
    GeneratedTest(name="fork_bomb", source="import os\n\ndef test_f():\n    while True:\n        try:\n"
                  "            os.fork()\n        except OSError:\n            pass\n"),
    GeneratedTest(name="daemon", source="import subprocess\n\ndef test_d():\n"
                  "    subprocess.Popen(['sh', '-c', 'sleep 3; rm -rf /testbed/calc'], start_new_session=True)\n"
                  "    assert False\n"),
]


def matrix(run_id: str, client) -> WarmMatrix:
    limits = Limits(wall_s=8, cpu_s=8, output_bytes=64 << 10, processes=128)
    return WarmMatrix("", workers=2, timeout_s=8, limits=limits,
                      sandbox=lambda image: DockerSandbox(image, limits=limits, run_id=run_id, client=client))


def test_triage_discards_bad_tests_with_evidence_and_goes_on(docker_engine, docker_run_id, toy_instance):
    runner = matrix(docker_run_id, docker_engine)
    runner.image = toy_instance[1]
    kept, result = runner.triage([BAD[0], DIV, *BAD[1:], MEAN])
    assert [t.name for t in kept] == ["div_fraction", "mean_empty"]  # the tests after the bad ones still ran
    reasons = {d.test: d.reason for d in result.discarded}
    assert reasons == {"passes_on_base": "passes on the base commit", "no_parse": "does not parse",
                       "hangs": "hangs (timed out)", "floods": "floods its output",
                       "deletes_tree": "changes the repository"}
    assert all(d.evidence for d in result.discarded)


def test_matrix_runs_each_pair_once_and_matches_fresh_containers(docker_engine, docker_run_id, toy_instance):
    runner = matrix(docker_run_id, docker_engine)
    runner.image = toy_instance[1]
    candidates = {0: toy_patch("gold"), 1: toy_patch("partial"), 2: toy_patch("wrong"), 3: toy_patch("conflict")}
    result = runner.matrix(candidates, [DIV, MEAN])
    got = {(o.test, o.candidate): o.passed for o in result.outcomes}
    assert len(result.outcomes) == 8 and len(got) == 8
    assert got == {("div_fraction", 0): True, ("mean_empty", 0): True, ("div_fraction", 1): True,
                   ("mean_empty", 1): False, ("div_fraction", 2): False, ("mean_empty", 2): False,
                   ("div_fraction", 3): False, ("mean_empty", 3): False}
    fresh = fresh_pair(toy_instance[1], toy_patch("partial"), DIV, runner.limits, 8)
    assert fresh.passed is True


def test_a_pair_that_hangs_only_with_its_candidate_does_not_sink_the_others(docker_engine, docker_run_id, toy_instance):
    runner = matrix(docker_run_id, docker_engine)
    runner.image = toy_instance[1]
    # hangs once div is fixed (so it survives triage), passes nothing then
    sly = GeneratedTest(name="sly", source="import time\nfrom calc.ops import div\n\ndef test_s():\n"
                        "    if div(7, 2) == 3.5:\n        time.sleep(600)\n    assert False\n")
    result = runner.matrix({0: toy_patch("gold")}, [DIV, sly])
    got = {o.test: o.passed for o in result.outcomes}
    assert got == {"div_fraction": True, "sly": False}


def test_tests_that_wreck_the_container_are_discarded_and_the_rest_still_run(docker_engine, docker_run_id, toy_instance):
    runner = matrix(docker_run_id, docker_engine)
    runner.image = toy_instance[1]
    kept, result = runner.triage([WORSE[0], DIV, WORSE[1], WORSE[2], WORSE[3], MEAN])
    assert [t.name for t in kept] == ["div_fraction", "mean_empty"]
    reasons = {d.test: d.reason for d in result.discarded}
    assert reasons == {"rm_rf_testbed": "changes the repository", "kills_container": "kills the container",
                       "fork_bomb": "hangs (timed out)", "daemon": "leaves 2 processes running"}
    assert all(d.evidence for d in result.discarded)
    # the kept tests' base verdicts were taken in a sound container after each wreck
    assert {o.test: o.passed for o in result.outcomes} == {"div_fraction": False, "mean_empty": False}


def test_a_pair_that_kills_the_container_only_with_its_candidate_fails_alone(docker_engine, docker_run_id, toy_instance):
    runner = matrix(docker_run_id, docker_engine)
    runner.image = toy_instance[1]
    killer = GeneratedTest(name="killer", source=WORSE[1].source.replace(
        "def test_k():\n", "from calc.ops import div\n\ndef test_k():\n    if div(7, 2) != 3.5:\n        assert False\n"))
    kept, _ = runner.triage([killer])
    assert [t.name for t in kept] == ["killer"]  # on the base commit it only fails
    result = runner.matrix({0: toy_patch("gold"), 1: toy_patch("wrong")}, [DIV, killer, MEAN])
    got = {(o.test, o.candidate): o.passed for o in result.outcomes}
    assert got == {("div_fraction", 0): True, ("killer", 0): False, ("mean_empty", 0): True,
                   ("div_fraction", 1): False, ("killer", 1): False, ("mean_empty", 1): False}
    evidence = next(o.evidence for o in result.outcomes if (o.test, o.candidate) == ("killer", 0))
    assert evidence.startswith("kills the container")
