#!/usr/bin/env bash
# Install monkeys into .venv and run the offline demo (simulated model, about a minute on 2 cores),
# then the toy SWE-bench repair-agent demo (a Docker engine and the base image monkeys-base:bookworm).
# Generated code runs only inside bubblewrap, and the agent demo needs Docker: as root this script
# installs both (apt-get install bubblewrap; scripts/setup_docker.sh, as scripts/test.sh does, which
# leaves an engine that already runs as it is), and python3-venv where Debian left it out; otherwise
# it prints the one command to run first.
#   scripts/demo.sh [--out DIR]          (runs go to DIR/<name>, default runs/demo/<name>)
#   sudo bash scripts/demo.sh --setup    (only the part that needs root: system packages, Docker, base image)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SETUP_COMMAND="sudo bash scripts/demo.sh --setup"
setup_only=0
if [ "${1:-}" = "--setup" ]; then setup_only=1; shift; fi
as_root() { [ "$(id -u)" -eq 0 ]; }
have_bwrap() { command -v bwrap >/dev/null 2>&1; }
have_venv() { [ -x .venv/bin/python ] || "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; }
have_base_image() { command -v docker >/dev/null 2>&1 && docker image inspect monkeys-base:bookworm >/dev/null 2>&1; }

if as_root; then
  packages=()
  have_bwrap || packages+=(bubblewrap)    # generated code runs only inside it
  have_venv || packages+=(python3-venv)   # Debian ships python3 without venv/ensurepip
  if [ ${#packages[@]} -gt 0 ]; then
    echo "demo: installing ${packages[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${packages[@]}"
  fi
  # the Docker engine and base image for the agent demo (idempotent: seconds when present); if this
  # fails, the code demo still runs and the agent demo says why it is skipped
  bash scripts/setup_docker.sh || echo "demo: the Docker setup failed (above): the SWE-bench agent demo will be skipped" >&2
  if [ "$setup_only" -eq 1 ]; then echo "demo: set up; now run scripts/demo.sh" >&2; exit 0; fi
else
  if [ "$setup_only" -eq 1 ]; then echo "demo: --setup installs system packages and needs root: $SETUP_COMMAND" >&2; exit 2; fi
  if ! have_bwrap || ! have_venv; then
    missing=$(have_bwrap || printf 'bubblewrap (generated code never runs without it) '; have_venv || printf 'python3-venv')
    echo "demo: missing ${missing% }. Run first:" >&2
    echo "  $SETUP_COMMAND" >&2
    exit 2
  fi
  if ! have_base_image; then
    echo "demo: the SWE-bench agent demo needs a Docker engine and its base image; to include it, run first:" >&2
    echo "  $SETUP_COMMAND" >&2
  fi
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
.venv/bin/monkeys run configs/demo.yaml "$@"
exec .venv/bin/python scripts/demo_swe.py "$@"
