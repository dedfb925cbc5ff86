#!/usr/bin/env bash
# Install monkeys into .venv and run the offline demo (simulated model, about a minute on 2 cores),
# then the toy SWE-bench repair-agent demo when a Docker engine and the base image are there
# (scripts/setup_docker.sh); without them it says that it skips it, and why.
#   scripts/demo.sh [--out DIR]      (runs go to DIR/<name>, default runs/demo/<name>)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
.venv/bin/monkeys run configs/demo.yaml "$@"
exec .venv/bin/python scripts/demo_swe.py "$@"
