"""``--limit-rate``: a token bucket on uploaded bytes, shared by every upload worker of a run.

The bucket holds up to one second of bytes. Each worker takes what it just sent; when that
leaves the bucket in debt, the worker waits until the debt is paid at ``rate``. Workers queue
behind each other's debt, so together they never send faster than ``rate`` on average.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimit:
    """At most ``rate`` bytes per second on average, bursts up to ``burst`` bytes (default: one second's)."""

    def __init__(
        self,
        rate: int,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self, size: int) -> float:
        """Account ``size`` bytes sent; wait while the bucket is in debt. Returns the seconds waited for."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= size
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
