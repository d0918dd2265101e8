"""The Redis cache keeps one redis-py client per pool (webmail/cachebackend.py) and stays
right when threads share it."""

from __future__ import annotations

import threading

from django.core.cache import cache


def test_one_client_serves_every_operation() -> None:
    backend = cache._cache  # type: ignore[attr-defined]
    assert backend.get_client() is backend.get_client()
    assert backend.get_client(write=True) is backend.get_client(write=True)
    cache.set("cachebackend:a", {"n": 1}, 30)
    assert cache.get("cachebackend:a") == {"n": 1}


def test_threads_sharing_it_each_read_their_own_values() -> None:
    wrong: list[tuple[int, int, object]] = []

    def work(n: int) -> None:
        for i in range(200):
            cache.set(f"cachebackend:{n}", (n, i), 30)
            found = cache.get(f"cachebackend:{n}")
            if found != (n, i):
                wrong.append((n, i, found))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    cache.delete_many([f"cachebackend:{n}" for n in range(8)] + ["cachebackend:a"])
