#!/usr/bin/env bash
# Install monkeys into .venv and run the offline demo (simulated model, about a minute on 2 cores),
# then the toy SWE-bench repair-agent demo (a Docker engine and the base image monkeys-base:bookworm).
# Generated code runs only inside bubblewrap, and the agent demo needs Docker: as root this script
# installs both (apt-get install bubblewrap; scripts/setup_docker.sh, as scripts/test.sh does);
# otherwise it stops and prints the one command to run first.
#   scripts/demo.sh [--out DIR]      (runs go to DIR/<name>, default runs/demo/<name>)
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { [ "$(id -u)" -eq 0 ]; }
if ! command -v bwrap >/dev/null 2>&1; then
  if as_root; then
    echo "demo: installing bubblewrap (generated code runs only inside it)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq bubblewrap
  else
    echo "demo: bubblewrap is missing, and generated code never runs without it. Run first:" >&2
    echo "  sudo apt-get install -y bubblewrap" >&2
    exit 2
  fi
fi
if as_root; then
  bash scripts/setup_docker.sh   # Docker engine + base image for the agent demo (idempotent; seconds when present)
elif ! docker image inspect monkeys-base:bookworm >/dev/null 2>&1; then
  echo "demo: the SWE-bench agent demo needs Docker and its base image; to include it, run first:" >&2
  echo "  sudo bash scripts/setup_docker.sh" >&2
fi
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
.venv/bin/monkeys run configs/demo.yaml "$@"
exec .venv/bin/python scripts/demo_swe.py "$@"
