"""A process that analyzes files for the index (`python -m agents.parse_worker`): parsing is CPU-bound and
holds the GIL, so a large repository is parsed in a few of these while the attempts keep the main process.

Reads a pickled (list of (path, text), chunk_lines) on stdin, writes the pickled list of FileEntry on stdout.
A plain subprocess rather than multiprocessing: nothing of the caller's __main__ is imported again.
"""

from __future__ import annotations

import gc
import pickle
import sys

from agents.index import analyze_file


def main() -> None:
    gc.disable()  # nothing here makes cycles; the collector would only slow the parser down
    batch, chunk_lines = pickle.load(sys.stdin.buffer)  # noqa: S301 - from our own parent process
    entries = [analyze_file(text, path, chunk_lines) for path, text in batch]
    pickle.dump(entries, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
