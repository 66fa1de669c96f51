"""A run to several sites (issue 24): each further site's progress as one line, fed by the events of
that site's session (the CLI labels the same events ``[site]``)."""

from __future__ import annotations

import threading

from textual.widgets import Static

from core.api import CheckStatus, Preflight, RunStatus
from core.api import events as ev
from tui.format import printable_lines, size


class SiteTally:
    """The emit of one further site's session: counts what its run did. Thread-safe (the engine's
    workers call it); the screen reads :meth:`line`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """A new run starts: nothing counted yet."""
        with self._lock:
            self.bytes_done = 0
            self.bytes_total = 0
            self.images_done = 0
            self.failures = 0
            self.status: RunStatus | None = None
            self.message = ""
            self.waiting = ""  # the site's own stall or retry line, until bytes move again

    def __call__(self, event: ev.Event) -> None:
        with self._lock:
            if isinstance(event, ev.RunStarted):
                self.bytes_total = event.bytes_total
            elif isinstance(event, ev.BytesProgress):
                if event.bytes_done > self.bytes_done:
                    self.waiting = ""
                self.bytes_done = max(self.bytes_done, event.bytes_done)
                self.bytes_total = event.bytes_total or self.bytes_total
            elif isinstance(event, ev.Stalled):
                self.waiting = f"no progress for {event.seconds:.0f} s — {event.waiting_for}"
            elif isinstance(event, ev.Retrying):
                self.waiting = event.text()
            elif isinstance(event, ev.ImageDone):
                self.images_done += 1
            elif isinstance(event, ev.Failure):
                self.failures += 1
            elif isinstance(event, ev.RunFinished):
                self.status, self.message = event.status, event.message
                self.bytes_done = event.bytes_uploaded
                self.waiting = ""

    def end(self, status: RunStatus, message: str) -> None:
        """How the site's run ended (also when it never started: its preflight failed)."""
        with self._lock:
            self.status, self.message = status, message

    def line(self) -> str:
        """``site east: running, 3 images done, 1.2 MB of 4.0 MB`` (``done``/``failed: why`` once over)."""
        with self._lock:
            state = str(self.status) if self.status is not None else "running"
            sent = f"{size(self.bytes_done)} of {size(self.bytes_total)}" if self.bytes_total else size(self.bytes_done)
            line = f"site {self.name}: {state}, {self.images_done} images done, {sent} uploaded"
            if self.failures:
                line += f", {self.failures} failure(s)"
            if self.status == RunStatus.FAILED and self.message:
                line += f": {self.message}"
            elif self.status is None and self.waiting:
                line += f"; {self.waiting}"
            return line


class SiteProgress(Static):
    """One line per further site under the hub's progress."""

    def show(self, tallies: list[SiteTally]) -> None:
        self.update(printable_lines([t.line() for t in tallies]))
        self.display = bool(tallies)


def site_check_lines(sites: list[tuple[str, Preflight]]) -> list[str]:
    """The checks of the hub and the further sites, compact: a row per check kind not ok everywhere, a
    column per site (``ok``/``warn``/``fail``, the worst of the kind), the kinds ok at every site on one
    line, then a totals line per site (what it uploads)."""
    names = [name for name, _ in sites]
    kinds: dict[str, dict[str, CheckStatus]] = {}
    for name, preflight in sites:
        for check in preflight.checks:
            cells = kinds.setdefault(str(check.kind), {})
            cells[name] = max(cells.get(name, CheckStatus.OK), check.status, key=WORST.index)
    first = max([len("check"), *(len(k) for k in kinds)])
    widths = [max(len(n), 4) for n in names]
    lines = [" ".join([f"{'check':<{first}}", *(f"{n:<{w}}" for n, w in zip(names, widths))]).rstrip()]
    fine = [kind for kind, cells in kinds.items() if set(cells.values()) == {CheckStatus.OK}]
    for kind, cells in kinds.items():
        if kind in fine:
            continue
        lines.append(" ".join([f"{kind:<{first}}", *(f"{str(cells.get(n, '-')):<{w}}"
                                                   for n, w in zip(names, widths))]).rstrip())
    if fine:
        lines.append(f"ok at every site: {', '.join(fine)}")
    for name, preflight in sites:
        plan = preflight.plan
        failed = len(preflight.failures)
        upload = f"{len(plan.images)} images, {size(plan.bytes_to_upload)} to upload" if plan else "no plan"
        lines.append(f"{name}: {upload}" + (f"; {failed} check(s) failed" if failed else ""))
    return lines


#: check statuses, best first: a kind's cell shows the worst of its checks
WORST = (CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL)
