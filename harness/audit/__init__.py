"""Checking a run after the fact: `replay` (one stored verdict against today's verifier), `findings`
(the audit: errors, flaky verdicts, dedup, stale verdicts, replay disagreements), `site` (the
static HTML audit site, rendered by harness.report.html from the run view).
"""
