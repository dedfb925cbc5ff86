"""Building the index of a repository: per-file entries shared by content across snapshots, parsing in worker processes."""

from __future__ import annotations

import shutil
from pathlib import Path

from agents.filecache import FileCache
from agents.index import CodeIndex
from agents.repo import RepoSnapshot


def _repo(root: Path, files: int = 80) -> Path:
    for n in range(files):
        path = root / "src" / f"pkg{n % 4}" / f"mod_{n}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""Module {n}."""\n\nclass Thing{n}:\n    def value_{n}(self):\n        return {n}\n\n\ndef helper_{n}(x):\n    return x * {n}\n')
    (root / "src" / "broken.py").write_text("def broken(:\n    pass\n")
    return root


def _same(a: CodeIndex, b: CodeIndex) -> bool:
    return (a.chunks, a.outlines, a.by_name, a._parses) == (b.chunks, b.outlines, b.by_name, b._parses) and \
        a.bm25.top(["value", "helper"], 10) == b.bm25.top(["value", "helper"], 10)


def test_worker_processes_make_the_same_index(tmp_path: Path) -> None:
    snapshot = RepoSnapshot(_repo(tmp_path / "repo"))
    alone, parallel = CodeIndex(snapshot), CodeIndex(snapshot, workers=2)
    assert len(alone.outlines) == 80 and alone.original_parses("src/broken.py") is False
    assert _same(alone, parallel)


def test_a_second_snapshot_parses_only_the_files_that_changed(tmp_path: Path) -> None:
    first = _repo(tmp_path / "first")
    second = tmp_path / "second"
    shutil.copytree(first, second)
    (second / "src" / "pkg1" / "mod_1.py").write_text("def renamed():\n    return 1\n")
    cache = FileCache(tmp_path / "file-index")
    CodeIndex(RepoSnapshot(first), file_cache=cache)
    assert (cache.hits, cache.misses) == (0, 81)
    index = CodeIndex(RepoSnapshot(second), file_cache=cache)
    assert (cache.hits, cache.misses) == (80, 82)  # one file new, every other one from the cache
    assert _same(index, CodeIndex(RepoSnapshot(second)))
    assert [d.path for d in index.find_definitions("renamed")] == ["src/pkg1/mod_1.py"] and not index.find_definitions("value_1")
