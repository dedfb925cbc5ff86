"""The HTML audit site: its data (escaping, counts, dedup) and the viewer in a real headless Chromium.

The browser tests drive Debian's `chromium` over the DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4), so they need nothing beyond the
standard library. They load the site from disk exactly as a person would (file://).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Self

import pytest

from harness.audit.site import write_audit_site
from harness.report.site_artifacts import SiteLimits
from harness.store import RunMeta, RunStore
from tests.harness.test_audit import (  # the run builders live with the audit tests
    GSM8K_ROWS,
    GSM8K_SAMPLES,
    HUMANEVAL_ROWS,
    HUMANEVAL_SAMPLES,
    make_run,
    tamper,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = "<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED'\"> #### 41"
SCREENSHOTS = Path(os.environ.get("MONKEYS_SCREENSHOTS", tempfile.gettempdir())) / "monkeys-audit-screenshots"


# ---------------------------------------------------------------- a small DevTools client


class BrowserError(RuntimeError):
    pass


class Chromium:
    """Headless Chromium over --remote-debugging-pipe: one page, commands answered in order."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="monkeys-chromium-")
        commands_r, self._out = os.pipe()
        self._in, events_w = os.pipe()
        # Above fd 10, so the shell's 3<& / 4>& redirections cannot clobber each other.
        high_r, high_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (commands_r, events_w))
        args = [binary, "--headless", "--remote-debugging-pipe", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox on
        shell = f'exec "$@" 3<&{high_r} 4>&{high_w} {high_r}<&- {high_w}>&-'
        self.proc = subprocess.Popen(["bash", "-c", shell, "bash", *args], pass_fds=(high_r, high_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in (commands_r, events_w, high_r, high_w):
            os.close(fd)
        self._buffer, self._events, self._next_id = b"", [], 0
        self.session = self._attach(width, height)

    def _attach(self, width: int, height: int) -> str:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Page.enable", "Runtime.enable"):
            self.call(method, session=session)
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False}, session=session)
        return session

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout_s: float = 30.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        reply = self._read_until(lambda m: m.get("id") == message["id"], timeout_s)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _read_until(self, wanted: Any, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if wanted(message):
                    return message
                self._events.append(message)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise BrowserError(f"no answer from Chromium within {timeout_s}s")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the pipe")
            self._buffer += chunk

    def page(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.call(method, params, session=self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.page("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 20.0) -> Any:
        """Poll a JS expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.01)
        raise BrowserError(f"{expression!r} stayed false for {timeout_s}s")

    def blank(self) -> None:
        """An empty page, so that the next open() starts a new document (a hash change alone would not)."""
        self.page("Page.navigate", {"url": "about:blank"})
        self.wait_for("location.href === 'about:blank'")

    def open(self, url: str, ready: str = "document.body.dataset.ready === '1'", fresh: bool = True) -> None:
        """Load `url` and wait until the page says `ready` (evaluated once the new document has a body)."""
        if fresh:
            self.blank()
        self.page("Page.navigate", {"url": url})
        self.wait_for(f"location.href === {json.dumps(url)} && !!document.body && ({ready})")

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        data = self.page("Page.captureScreenshot", params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout_s=5)
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._in, self._out):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# ---------------------------------------------------------------- runs to look at

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="!!! chromium is NOT installed: the browser tests of the HTML audit site did NOT run. "
           "Install it: apt-get install -y --no-install-recommends chromium (scripts/setup_system.sh) !!!")

PATCH = """diff --git a/pkg/mod.py b/pkg/mod.py
index 1111111..2222222 100644
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,3 +1,3 @@
 def f(x):
-    return x
+    return x + 1  # </pre><script>document.title='PWNED'</script>
"""


def read_jsonp(path: Path) -> tuple[str, dict[str, Any]]:
    match = re.fullmatch(r'MONKEYS_AUDIT\.deliver\(("[^"]*"),(.*)\);\n', path.read_text(encoding="ascii"), re.DOTALL)
    assert match, f"{path} is not a data file"
    return json.loads(match.group(1)), json.loads(match.group(2))


def problem_data(site: Path, pos: int) -> dict[str, Any]:
    return read_jsonp(site.parent / "data" / "p" / f"{pos:05d}.js")[1]


def swebench_like_run(run_dir: Path) -> Path:
    """A store as a SWE-bench run leaves it: patches, JSON evidence naming test logs, a flaky instance, a trajectory."""
    from harness.records import (
        Attempt,
        AttemptStatus,
        Candidate,
        Problem,
        Verdict,
        VerdictStatus,
    )
    from harness.registry import load_task

    verifier = load_task("swebench").verifier()
    store = RunStore(run_dir)
    problems = [Problem(id=f"org__repo-{i}", task="swebench", question=f"Issue {i}: f(x) is off by one <b>", data={}) for i in range(2)]
    store.put_problems(problems)
    store.write_meta(RunMeta(identity="swe_like", name="swe_like", task="swebench", model="m", backend="replay",
                             targets={p.id: 3 for p in problems}))
    logs = run_dir / "swebench_logs"
    logs.mkdir(parents=True)
    (logs / "a.log").write_text("collected 3 items\n<script>document.title='PWNED'</script>\nFAILED test_f\n")
    (run_dir / "trajectories" / "org__repo-0").mkdir(parents=True)
    (run_dir / "trajectories" / "org__repo-0" / "00000.jsonl").write_text(
        json.dumps({"type": "start", "messages": [{"role": "user", "content": "fix <it>"}]}) + "\n"
        + json.dumps({"type": "step", "step": 1, "observation": "ok"}) + "\n{torn")
    wrong = PATCH.replace("x + 1", "x + 2")
    attempts = [Attempt(problem_id="org__repo-0", index=i, seed=i, status=AttemptStatus.OK, text=t, candidate_key=k)
                for i, (t, k) in enumerate([(PATCH, PATCH), (PATCH, PATCH), (wrong, wrong)])]
    attempts += [Attempt(problem_id="org__repo-1", index=0, seed=0, status=AttemptStatus.ERROR, error="HTTP 500"),
                 Attempt(problem_id="org__repo-1", index=1, seed=1, status=AttemptStatus.OK, text="no patch"),
                 Attempt(problem_id="org__repo-1", index=2, seed=2, status=AttemptStatus.OK, text=PATCH, candidate_key=PATCH)]
    candidates = [Candidate(problem_id=a.problem_id, key=a.candidate_key, content=a.candidate_key) for a in attempts if a.candidate_key]
    store.add_attempts(attempts, candidates)

    def verdict(status: VerdictStatus, **evidence: Any) -> Verdict:
        return Verdict(status=status, verifier=verifier.name, verifier_version=verifier.version, evidence=json.dumps(evidence))

    store.add_verdicts([
        (candidates[0], verdict(VerdictStatus.PASSED, log=str(logs / "a.log"), flaky_instance=True, lenient_resolved=True,
                                majority={"runs": 11, "resolved_runs": 7})),
        (candidates[2], verdict(VerdictStatus.FAILED, log="swebench_logs/missing.log", lenient_resolved=False)),
        (candidates[3], verdict(VerdictStatus.TIMEOUT, note="ran past 1800s")),
    ])
    store.close()
    return run_dir


@pytest.fixture
def gsm8k_site(tmp_path: Path) -> Path:
    return write_audit_site(make_run(tmp_path, "gsm8k", GSM8K_ROWS, GSM8K_SAMPLES))


@pytest.fixture
def code_site(tmp_path: Path) -> Path:
    return write_audit_site(make_run(tmp_path, "humaneval", HUMANEVAL_ROWS, HUMANEVAL_SAMPLES))


@pytest.fixture
def swe_site(tmp_path: Path) -> Path:
    return write_audit_site(swebench_like_run(tmp_path / "swe"))


# ---------------------------------------------------------------- the data


def test_summary_counts_and_tags(gsm8k_site: Path):
    key, summary = read_jsonp(gsm8k_site.parent / "data" / "summary.js")
    assert key == "summary" and summary["run"]["task"] == "gsm8k"
    rows = {p["id"]: p for p in summary["problems"]}
    assert (rows["0"]["n"], rows["0"]["passed"], rows["0"]["unique"]) == (4, 2, 2)
    assert (rows["1"]["passed"], rows["1"]["unique"]) == (3, 2)
    assert rows["2"]["tags"] == ["unsolved", "no_answer"]
    assert set(rows["0"]["tags"]) == {"solved", "no_answer"}
    assert rows["1"]["counts"] == {"passed": 3, "failed": 1}


def test_identical_candidates_and_outputs_are_stored_once(gsm8k_site: Path):
    data = problem_data(gsm8k_site, 1)
    assert [c["attempts"] for c in data["candidates"]] == [[0, 2, 3], [1]]  # most produced first
    assert len(data["texts"]) == 3  # the hostile output twice, stored once
    assert data["attempts"][0]["t"] == data["attempts"][2]["t"]
    assert {a["i"]: a["c"] for a in data["attempts"]} == {0: 0, 1: 1, 2: 0, 3: 0}


def test_hostile_text_is_data_never_markup(gsm8k_site: Path):
    site = gsm8k_site.parent
    data = problem_data(gsm8k_site, 1)
    assert any("<script>document.title='PWNED'</script>" in t for t in data["texts"])  # kept as text...
    for path in site.rglob("*.js"):
        if "data" in path.parts:
            assert "<" not in path.read_text(encoding="ascii"), path  # ...and inert in the data files
    html = gsm8k_site.read_text()
    assert "PWNED" not in html and "not bold" not in html  # the shell holds no run data
    assert "innerHTML" not in (site / "assets" / "audit.js").read_text()


def test_the_site_is_replaced_whole(gsm8k_site: Path):
    (gsm8k_site.parent / "stale.txt").write_text("old")
    again = write_audit_site(gsm8k_site.parent.parent)
    assert again == gsm8k_site and not (gsm8k_site.parent / "stale.txt").exists()
    assert not [p for p in gsm8k_site.parent.parent.iterdir() if p.name.startswith(".audit")]


def test_artifacts_logs_trajectories_and_flaky(swe_site: Path):
    _, summary = read_jsonp(swe_site.parent / "data" / "summary.js")
    rows = {p["id"]: p for p in summary["problems"]}
    assert "flaky" in rows["org__repo-0"]["tags"]
    assert set(rows["org__repo-1"]["tags"]) == {"unsolved", "errors", "model_errors", "no_answer"}
    data = problem_data(swe_site, 0)
    first = data["candidates"][0]
    assert first["majority"] == "7/11 runs resolved" and first["flaky"] is True
    log = first["artifacts"][0]
    assert log["link"] == "../swebench_logs/a.log" and log["label"] == "test log"
    payload = read_jsonp(swe_site.parent / "data" / f"{log['key']}.js")[1]["items"][log["item"]]
    assert "FAILED test_f" in payload["text"] and payload["kind"] == "text"
    assert data["candidates"][1]["artifacts"][0]["missing"] is True
    trajectory = data["attempts"][0]["artifacts"][0]
    records = read_jsonp(swe_site.parent / "data" / f"{trajectory['key']}.js")[1]["items"][trajectory["item"]]
    assert [r["title"] for r in records["records"]] == ["start", "step 1", "line 3 (not JSON)"]
    assert "[user]\nfix <it>" in records["records"][0]["fields"][0][1]


def test_artifacts_split_into_chunks_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from harness.report import site_artifacts

    monkeypatch.setattr(site_artifacts, "CHUNK_CHARS", 10)  # every artifact fills a chunk on its own
    site = write_audit_site(swebench_like_run(tmp_path / "swe"))
    data = problem_data(site, 0)
    refs = [data["candidates"][0]["artifacts"][0], data["attempts"][0]["artifacts"][0]]
    assert [r["key"] for r in refs] == ["a/00000-0", "a/00000-1"]
    kinds = [read_jsonp(site.parent / "data" / f"{r['key']}.js")[1]["items"][r["item"]]["kind"] for r in refs]
    assert kinds == ["text", "records"]


def test_limits_cut_long_outputs(tmp_path: Path):
    run_dir = make_run(tmp_path, "gsm8k", GSM8K_ROWS, GSM8K_SAMPLES)
    site = write_audit_site(run_dir, SiteLimits(output_chars=10))
    data = problem_data(site, 1)
    assert all(len(t) <= 10 for t in data["texts"]) and data["texts_cut"]


def test_unverified_candidates_show_as_such(tmp_path: Path):
    run_dir = make_run(tmp_path, "gsm8k", GSM8K_ROWS, GSM8K_SAMPLES)
    store = RunStore(run_dir)
    with store.db:
        store.db.execute("UPDATE verdicts SET version = 'old' WHERE problem_id = '2'")
    store.close()
    site = write_audit_site(run_dir)
    data = problem_data(site, 2)
    assert {a["s"] for a in data["attempts"]} == {"unverified", "no_answer"}
    assert read_jsonp(site.parent / "data" / "summary.js")[1]["problems"][2]["tags"] == ["unsolved", "errors", "no_answer"]


def test_audit_findings_appear_in_the_summary(tmp_path: Path):
    from harness.audit.findings import audit, write_audit

    run_dir = make_run(tmp_path, "gsm8k", GSM8K_ROWS, GSM8K_SAMPLES)
    tamper(run_dir, "0", "failed")
    write_audit(audit(run_dir, replay_sample=50), run_dir)
    _, summary = read_jsonp(write_audit_site(run_dir).parent / "data" / "summary.js")
    assert summary["audit"]["disagreements"][0]["problem_id"] == "0"
    assert {"name": "audit.json", "link": "../audit.json"} in summary["files"]



def test_the_summary_links_every_plot_the_report_wrote(tmp_path: Path):
    run_dir = make_run(tmp_path, "gsm8k", GSM8K_ROWS, GSM8K_SAMPLES)
    plots = json.loads((run_dir / "report.json").read_text())["plots"].values()
    _, summary = read_jsonp(write_audit_site(run_dir).parent / "data" / "summary.js")
    assert set(plots) <= {f["name"] for f in summary["files"]} and "coverage.png" in plots


# ---------------------------------------------------------------- in the browser


@pytest.fixture
def browser():
    assert CHROMIUM is not None
    with Chromium(CHROMIUM) as chromium:
        yield chromium


def shot(browser: Chromium, name: str, full_page: bool = False) -> Path:
    path = browser.screenshot(SCREENSHOTS / name, full_page)
    assert path.stat().st_size > 5000, "the screenshot is blank"
    return path


def click(browser: Chromium, selector: str) -> None:
    assert browser.evaluate(f"(function(){{var e=document.querySelector({json.dumps(selector)}); if(e) e.click(); return !!e;}})()"), selector


def rows_shown(browser: Chromium) -> list[str]:
    return browser.evaluate("Array.from(document.querySelectorAll('#rows tr td:nth-child(2) a')).map(a => a.textContent)")


@needs_chromium
def test_list_filters_search_and_hostile_output_in_the_browser(browser: Chromium, gsm8k_site: Path):
    browser.open(gsm8k_site.as_uri())
    assert rows_shown(browser) == ["0", "1", "2"]
    assert "not bold" in browser.evaluate("document.querySelector('#rows').textContent")  # the question's <b> is text
    click(browser, "button[data-filter=unsolved]")
    browser.wait_for("document.body.dataset.ready === '1' && location.hash === '#f=unsolved'")
    assert rows_shown(browser) == ["2"]
    shot(browser, "gsm8k-unsolved.png")
    click(browser, "button[data-filter=all]")
    browser.wait_for("location.hash === '#' || location.hash === ''")
    browser.evaluate("var s = document.getElementById('search'); s.value = 'apples'; s.dispatchEvent(new Event('input'))")
    assert rows_shown(browser) == ["0"]

    browser.open(gsm8k_site.as_uri() + "#p=1")  # the problem whose outputs carry <script> and onerror
    click(browser, "#strip .cell[data-i='0']")
    output = browser.wait_for("document.querySelector('#attempt pre.output') && document.querySelector('#attempt pre.output').textContent")
    assert "<script>document.title='PWNED'</script>" in output and "<img src=x" in output
    assert browser.evaluate("document.title") == "audit: audit_gsm8k"  # neither payload ran
    assert browser.evaluate("document.querySelectorAll('#app script, #app img').length") == 0
    assert "<script>document.title" in browser.evaluate("document.querySelector('#attempt').innerText")  # visible as text
    path = shot(browser, "gsm8k-problem-hostile.png")
    assert path.is_file()


@needs_chromium
def test_problem_page_candidates_and_attempt_filter(browser: Chromium, code_site: Path):
    browser.open(code_site.as_uri())
    click(browser, "#rows tr[data-pos='0'] a")
    browser.wait_for("document.body.dataset.view === 'problem' && document.body.dataset.ready === '1'")
    assert browser.evaluate("document.querySelectorAll('#candidates > details').length") == 3
    browser.evaluate("document.getElementById('status-filter').value = 'failed';"
                     "document.getElementById('status-filter').dispatchEvent(new Event('change'))")
    assert browser.evaluate("document.querySelectorAll('#strip .cell:not(.dim)').length") == 1
    assert browser.evaluate("document.querySelectorAll('#candidates > details:not([hidden])').length") == 1
    browser.evaluate("document.getElementById('status-filter').value = '';"
                     "var s = document.getElementById('text-search'); s.value = 'PWNED'; s.dispatchEvent(new Event('input'))")
    assert browser.evaluate("document.querySelectorAll('#strip .cell:not(.dim)').length") == 1
    browser.evaluate("document.querySelectorAll('#candidates > details').forEach(d => { d.open = true; })")
    content = browser.wait_for("Array.from(document.querySelectorAll('pre.candidate-content')).map(p => p.textContent).join('\\n')")
    assert "</pre><script>document.title='PWNED'</script>" in content
    assert browser.evaluate("document.title") == "audit: audit_humaneval"
    shot(browser, "code-problem.png", full_page=True)


@needs_chromium
def test_diff_log_and_trajectory_in_the_browser(browser: Chromium, swe_site: Path):
    browser.open(swe_site.as_uri() + "#p=0&a=0")
    browser.wait_for("!!document.querySelector('#attempt h2')")
    click(browser, "#attempt button.artifact")  # the trajectory, loaded on click
    browser.wait_for("document.querySelectorAll('#attempt .records details.record').length === 3")
    browser.evaluate("document.querySelector('#candidates > details').open = true")
    click(browser, "#candidates button.artifact")  # the test log
    log = browser.wait_for("document.querySelector('#candidates pre.log') && document.querySelector('#candidates pre.log').textContent")
    assert "<script>document.title='PWNED'</script>" in log
    counts = browser.evaluate("['d-meta', 'd-hunk', 'd-add', 'd-del'].map("
                              "c => document.querySelectorAll('#candidates pre.diff span.' + c).length)")
    assert counts == [4, 1, 1, 1]  # diff/index/---/+++, @@, one line added, one removed
    assert browser.evaluate("document.title") == "audit: swe_like"
    shot(browser, "swe-problem.png", full_page=True)


@needs_chromium
def test_missing_data_file_is_reported_not_blank(browser: Chromium, gsm8k_site: Path):
    (gsm8k_site.parent / "data" / "p" / "00001.js").unlink()
    browser.open(gsm8k_site.as_uri() + "#p=1", ready="document.body.dataset.ready === 'error'")
    assert "could not load data/p/00001.js" in browser.evaluate("document.getElementById('app').textContent")
