"""Retry policy: exponential backoff with jitter, ``Retry-After``, bounded attempts and time."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

#: statuses worth another try: throttling and transient server trouble
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request that failed for a transient reason.

    ``sleep``, ``clock`` and ``jitter`` are injectable so tests run without waiting.
    """

    #: total tries of one request, the first included
    attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 8.0
    #: no retry is started once this many seconds have passed since the first try
    max_total: float = 60.0
    #: a server's ``Retry-After`` is honoured up to this many seconds
    retry_after_cap: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)
    wall_clock: Callable[[], float] = field(default=time.time, compare=False)

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0-based): half fixed, half random, capped."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return ceiling / 2 + self.jitter() * ceiling / 2

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """The delay before the next try, honouring a ``Retry-After`` header value when given."""
        if retry_after:
            seconds = parse_retry_after(retry_after, now=self.wall_clock())
            if seconds is not None:
                return min(max(seconds, 0.0), self.retry_after_cap)
        return self.backoff(attempt)

    def allows(self, attempt: int, started: float, delay: float) -> bool:
        """True when try number ``attempt + 2`` may still happen after waiting ``delay``."""
        if attempt + 1 >= self.attempts:
            return False
        return (self.clock() - started) + delay <= self.max_total


NO_RETRY = RetryPolicy(attempts=1)


def parse_retry_after(value: str, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date), or None if unreadable."""
    text = value.strip()
    if not text:
        return None
    try:
        return float(int(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return when.timestamp() - current
