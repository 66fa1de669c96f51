"""Retry policy of every HTTP client: exponential backoff with jitter, ``Retry-After``, bounded in
time (``--retry-for``: long enough to ride through a registry or Harbor restart) and optionally in
tries; :func:`send_retrying` applies it to one request."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

from core.errors import ArchfuseError, TLSError
from core.units import duration_text

log = logging.getLogger("archfuse.http")

#: statuses worth another try: throttling and transient server trouble
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
#: seconds a request is retried by default (``--retry-for``): a registry or Harbor restart fits in it
DEFAULT_RETRY_FOR = 600.0
#: seconds a question someone waits on is retried at most: a check (the registry's API check, the
#: Harbor API, a chart repository), not the blobs, manifests and tags of a run
CHECK_RETRY_FOR = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """How long (and, optionally, how often) to retry a request that failed for a transient reason.

    ``sleep``, ``clock`` and ``jitter`` are injectable so tests run without waiting.
    """

    #: most tries of one request, the first included; 0: as many as fit in ``max_total``
    attempts: int = 0
    base_delay: float = 0.5
    max_delay: float = 15.0
    #: no retry is started once this many seconds have passed since the first try (``--retry-for``)
    max_total: float = DEFAULT_RETRY_FOR
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
        if self.attempts and attempt + 1 >= self.attempts:
            return False
        return (self.clock() - started) + delay <= self.max_total

    def until(self, started: float) -> float:
        """When (``time.time()``) the tries that began at ``started`` (``clock()``) give up."""
        return self.wall_clock() + self.max_total - (self.clock() - started)

    def describe(self) -> str:
        """``10 min``: how long a failing request is retried, for messages."""
        return duration_text(self.max_total)


NO_RETRY = RetryPolicy(attempts=1)
#: the policy of the clients whose requests are questions (Harbor API, chart repositories)
CHECK_RETRIES = RetryPolicy(max_total=CHECK_RETRY_FOR)


#: told of a retry before its wait: (reason, attempt number from 0, seconds to wait, when the tries give up)
RetryNotice = Callable[[str, int, float, float], None]


class Retrying:
    """The tries of one request under a policy: ``again()`` waits before the next, or says there is none."""

    def __init__(self, policy: RetryPolicy, notice: RetryNotice | None = None) -> None:
        self.policy = policy
        self.started = policy.clock()
        self.attempt = 0
        self.notice = notice

    def again(self, why: str, retry_after: str | None = None, *, reason: str = "") -> bool:
        """Wait before another try and return True; False when the policy allows no more tries.

        ``notice`` hears of the retry first, with ``reason`` (a few words: ``connection broke``).
        """
        delay = self.policy.delay(self.attempt, retry_after)
        if not self.policy.allows(self.attempt, self.started, delay):
            return False
        log.debug("%s; retrying in %.2fs", why, delay)
        if self.notice is not None:
            self.notice(reason or why, self.attempt, delay, self.policy.until(self.started))
        self.policy.sleep(delay)
        self.attempt += 1
        return True


def send_retrying(
    send: Callable[[], httpx.Response],
    policy: RetryPolicy,
    error: Callable[[httpx.TransportError], ArchfuseError],
    *,
    what: str,
) -> httpx.Response:
    """``send()`` until it answers with a status not in :data:`RETRYABLE_STATUS` or ``policy`` gives up.

    A transport failure becomes ``error(exc)``, raised at once for TLS (retrying cannot fix a
    certificate) or when no try is left; the last retryable answer is returned as it is.
    """
    tries = Retrying(policy)
    while True:
        try:
            response = send()
        except httpx.TransportError as exc:
            failure = error(exc)
            if isinstance(failure, TLSError) or not tries.again(f"{what} failed ({type(exc).__name__})"):
                raise failure from None
            continue
        if response.status_code in RETRYABLE_STATUS and tries.again(
            f"{what} -> {response.status_code}", response.headers.get("Retry-After")
        ):
            response.close()
            continue
        return response


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
