"""The HTML audit site of a run directory: the run view read from its store, rendered by harness.report.html."""

from __future__ import annotations

from pathlib import Path

from harness.report.html import render_site
from harness.report.site_artifacts import SiteLimits
from harness.runview import RunView, open_store, require_meta, verifier_or_stored


def write_audit_site(run_dir: Path, limits: SiteLimits | None = None) -> Path:
    """Build `<run>/audit/` from the run store alone; returns its index.html."""
    with open_store(run_dir) as store:
        view = RunView(store, verifier_or_stored(store, require_meta(store).task))
        return write_site(run_dir, view, limits)


def write_site(run_dir: Path, view: RunView, limits: SiteLimits | None = None) -> Path:
    """The site of a run already read (the report and the site share one reading)."""
    return render_site(run_dir, view.run_info(), view.problems(), limits)
