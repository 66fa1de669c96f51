"""Human-readable sizes, rates and durations for the screens (humanize, binary units).

Every name a screen shows (a package, a path, an image reference, a server's message) goes through
:func:`printable` (control characters escaped, from core.terminal) or :func:`printable_lines`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

import humanize

from core.api import ReplicationPlan
from core.api import events as ev
from core.api import printable as printable
from core.api import printable_lines as printable_lines

RATE_WINDOW = 10.0  # seconds of recent progress the rate and the ETA are taken over
#: seconds without a byte moved after which there is no rate and no ETA (the engine says it is
#: stalled after as long: core.run.progress.STALL_AFTER), rather than the window's old figure
QUIET = 3.0


def size(n: int) -> str:
    """``12.3 MiB``."""
    return humanize.naturalsize(n, binary=True, format="%.1f")


def rate(bytes_per_second: float) -> str:
    """``4.2 MiB/s``, or ``-`` before anything moved."""
    return f"{size(int(bytes_per_second))}/s" if bytes_per_second > 0 else "-"


def eta(remaining: int, bytes_per_second: float, after: float = 0.0) -> str:
    """``about 3 minutes`` for ``remaining`` bytes and ``after`` seconds of work past them (manifests,
    tags, verify), ``-`` when it cannot be told."""
    if bytes_per_second <= 0 or remaining <= 0:
        return "-"
    return humanize.naturaldelta(remaining / bytes_per_second + after)


def platforms(items: tuple[str, ...] | list[str]) -> str:
    """``amd64,arm64`` (the ``linux/`` prefix dropped: it is almost always linux)."""
    return ",".join(p.removeprefix("linux/") for p in items) or "-"


def platforms_change(before: Sequence[str], after: Sequence[str], *, compact: bool = False) -> str:
    """``amd64 → amd64,arm64``; compact (narrow screens): ``amd64,+arm64``, ``+`` marking what is added."""
    if not compact:
        return f"{platforms(tuple(before))} → {platforms(tuple(after))}"
    old = set(before)
    return ",".join(("" if p in old else "+") + p.removeprefix("linux/") for p in after) or "-"


#: the narrowest an image reference is shortened to (the tag and a few characters either side)
MIN_REFERENCE = 12


def reference(repository: str, tag: str, width: int, *, sep: str = ":") -> str:
    """``repo:tag`` in at most ``width`` characters: shortened in the middle of the repository,
    the tag kept whole, so ``controller:v1.8.1`` and ``controller:v1.9.0`` stay distinguishable.

    ``ingress-nginx/controller:v1.8.1`` at 24 → ``ingre…/controller:v1.8.1``.
    """
    repository, tag = printable(repository), printable(tag)
    suffix = f"{sep}{tag}" if tag else ""
    full = repository + suffix
    width = max(width, MIN_REFERENCE)
    if len(full) <= width:
        return full
    room = width - len(suffix) - 1  # one for the ellipsis
    if room < 4:  # a very long tag: keep its end, where versions differ
        return "…" + full[-(width - 1):]
    head = room // 3
    return f"{repository[:head]}…{repository[len(repository) - (room - head):]}{suffix}"


def reference_width(total: int, fixed: int, *, least: int = 20) -> int:
    """The width an image column gets in a table ``total`` wide whose other columns take ``fixed``."""
    return max(total - fixed, least)


def fitted(header: str, cells: Iterable[str], most: int) -> int:
    """A column's width: its header's or its widest cell's, at most ``most`` (the image column takes the rest)."""
    return min(max([len(header), *(len(cell) for cell in cells)]), most)


def elapsed(seconds: float) -> str:
    """``0:42`` or ``1:02:03``."""
    whole = int(max(seconds, 0))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class RateWindow:
    """Bytes per second over the last ``span`` seconds of progress (not the run's average)."""

    def __init__(self, span: float = RATE_WINDOW, quiet: float = QUIET) -> None:
        self.span = span
        self.quiet = quiet
        self.samples: deque[tuple[float, int]] = deque()
        self.moved_at = 0.0  # when the bytes last grew

    def add(self, at: float, done: int) -> None:
        if not self.samples or done > self.samples[-1][1]:
            self.moved_at = at
        self.samples.append((at, done))
        while len(self.samples) > 2 and self.samples[1][0] <= at - self.span:
            self.samples.popleft()

    @property
    def span_covered(self) -> float:
        """Seconds between the oldest and the newest sample."""
        return self.samples[-1][0] - self.samples[0][0] if self.samples else 0.0

    @property
    def rate(self) -> float:
        """Bytes per second over the window; 0 (unknown) when nothing moved for ``quiet`` seconds."""
        if len(self.samples) < 2 or self.samples[-1][0] - self.moved_at >= self.quiet:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


def replication_line(event: ev.ReplicationProgress | ev.ReplicationRerun) -> str:
    """``site east: execution 12 InProgress, 3 of 5 tasks done, 1 failed`` or the re-run of failed tasks."""
    if isinstance(event, ev.ReplicationRerun):
        return (f"site {event.site}: {event.failed} task(s) failed; re-running them as execution {event.execution_id} "
                f"(re-run {event.attempt})")
    failed = f", {event.failed} failed" if event.failed else ""
    return (f"site {event.site}: execution {event.execution_id} {event.status}, {event.succeed} of {event.total} "
            f"task(s) done{failed}")


def replication_question(plan: ReplicationPlan, hub: str, sites: Iterable[str]) -> str:
    """What agreeing to a replication does: the label, what is created on the hub, where the tags go."""
    creates = f"create {', '.join(plan.creates)} on the hub, " if plan.creates else ""
    return (f"Label the {len(plan.tags)} tag(s) of run {plan.run_id} on {hub}, {creates}and replicate them to "
            f"{', '.join(sites)}?")


def stall_line(stalled: ev.Stalled, retry: ev.Retrying | None = None) -> str:
    """``no progress for 12 s — retrying HOST: connection broke, attempt 2 of 5`` (or what is awaited)."""
    why = retry.text() if retry is not None else stalled.waiting_for
    return f"no progress for {stalled.seconds:.0f} s — {why}"
