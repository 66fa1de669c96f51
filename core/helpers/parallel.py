"""Bounded parallel maps for round trips to a target (plan reads, manifest and tag writes, charts).

At most ``jobs`` calls run at once, in worker threads. Before each item starts, ``check`` is
called (the engine passes its cancel check); once it raises, or any call raised, no further item
starts, the calls in flight finish, and the first exception is raised to the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: ``--jobs``: blob uploads in flight at once unless told otherwise; few enough that an
#: HDD-backed registry is not swamped with parallel blob writes
DEFAULT_JOBS = 8
#: the most requests in flight at once, and the most ``--jobs`` accepts: the registry client keeps
#: this many connections alive (core.registry.client, ``max_connections``)
MAX_JOBS = 32
#: requests that carry no blob data (lookups, mounts, manifest and tag writes, chart pushes) are
#: cheap for the registry: this many per job go at once, so a distant registry's round trips overlap
ROUND_TRIPS_PER_JOB = 4
#: blobs up to this size upload as round trips do (see :func:`round_trips`); larger ones take one
#: of the ``--jobs`` writer slots, which is what keeps an HDD-backed registry's disk calm. Also the
#: size below which uploading a blob again costs less than asking other repositories for it.
SMALL_BLOB = 1 << 20


def round_trips(jobs: int) -> int:
    """How many requests without blob data go at once for ``--jobs jobs``."""
    return max(1, min(MAX_JOBS, jobs * ROUND_TRIPS_PER_JOB))


def parallel_map(
    call: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    *,
    check: Callable[[], None] | None = None,
    name: str = "archfuse",
) -> list[R]:
    """``[call(item) for item in items]`` with up to ``jobs`` calls at once; results in item order."""
    results: dict[int, R] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    cursor = iter(range(len(items)))

    def work() -> None:
        while True:
            with lock:
                if errors:
                    return
                index = next(cursor, None)
            if index is None:
                return
            try:
                if check is not None:
                    check()
                results[index] = call(items[index])
            except BaseException as exc:  # handed to the caller's thread below
                with lock:
                    errors.append(exc)
                return

    workers = min(max(1, jobs), len(items))
    if workers <= 1:
        work()
    else:
        threads = [threading.Thread(target=work, name=f"{name}-{n}", daemon=True) for n in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return [results[index] for index in range(len(items))]
