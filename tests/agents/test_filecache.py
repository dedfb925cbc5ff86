"""The per-file index cache: entries written whole, also when threads of one process race on one entry."""

from __future__ import annotations

import threading

from agents.filecache import FileCache, content_key


def test_same_entry_put_by_many_threads_at_once(tmp_path):
    # identical files in one tree are indexed by several threads of one process at the same time
    cache = FileCache(tmp_path)
    key = content_key(b"x = 1\n", "index")
    value = {"chunks": list(range(20_000))}
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def put() -> None:
        start.wait()
        try:
            for _ in range(20):
                cache.put(key, value)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert FileCache(tmp_path).get(key) == value
    assert [p.name for p in tmp_path.rglob("*.tmp")] == []  # no staging file left behind


def test_damaged_entry_is_a_miss_and_removed(tmp_path):
    cache = FileCache(tmp_path)
    cache.put("ab" + "0" * 38, [1, 2])
    path = next(tmp_path.rglob("*.pickle"))
    path.write_bytes(b"not a pickle")
    assert cache.get("ab" + "0" * 38) is None and not path.exists() and cache.misses == 1
