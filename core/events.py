"""Events the engine emits. The TUI and the CLI are two renderers of this one stream.

Every event is a small frozen dataclass; ``to_json`` gives the line ``--json`` prints.
High-rate events (``BytesProgress``) may be coalesced by renderers: each carries totals,
not deltas, so dropping all but the newest loses nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.kinds import BlobHow, ChartAction, CheckKind, CheckStatus, ImageAction, ImageStage, RunStatus

_E = TypeVar("_E", bound="Event")

@dataclass(frozen=True)
class Event:
    #: when it happened (``time.time()``); not an argument, so subclasses' fields stay positional
    at: float = field(default_factory=time.time, init=False)

    @property
    def event_name(self) -> str:
        """The event's word in its JSON line (``"event": "check_done"``)."""
        name = type(self).__name__
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["event"] = self.event_name
        return data

    def coalesce_key(self) -> Hashable | None:
        """For high-rate events: events with the same key replace each other (the newest wins)."""
        return None

    def stamped(self: _E, at: float) -> _E:
        """A copy of this event that happened at ``at``."""
        copy = dataclasses.replace(self)
        object.__setattr__(copy, "at", at)
        return copy


@dataclass(frozen=True)
class ScanProgress(Event):
    path: str
    bytes_done: int
    bytes_total: int

    def coalesce_key(self) -> Hashable | None:
        return self.event_name


@dataclass(frozen=True)
class PackageScanned(Event):
    path: str
    version: str
    arch: str
    images: int
    charts: int
    cached: bool


@dataclass(frozen=True)
class BlobsStaged(Event):
    """A package's blobs uploaded while the scan read it (core.run.stage): a cold import reads it once."""

    path: str
    target: str
    blobs: int
    bytes: int
    stopped: str = ""  # why the uploads stopped early (the checks and the run take it from there)


@dataclass(frozen=True)
class CheckDone(Event):
    name: str
    status: CheckStatus
    detail: str
    kind: CheckKind  # the JSON line's ``"kind"``; the event's own word is ``"event"``


@dataclass(frozen=True)
class RunStarted(Event):
    run_id: str
    target: str
    packages: tuple[str, ...]
    images: int
    charts: int
    bytes_total: int  # bytes the plan expects to upload


@dataclass(frozen=True)
class PackageStarted(Event):
    path: str
    version: str
    arch: str


@dataclass(frozen=True)
class BytesProgress(Event):
    """Overall upload progress; totals, so renderers may drop all but the newest."""

    bytes_done: int
    bytes_total: int
    bytes_read: int = 0  # bytes of package streams read so far
    read_total: int = 0
    #: the engine's estimate of the seconds the run takes after its last byte: manifests, tags, their
    #: re-read and a verify, as round trips to the target (an ETA adds it)
    after_seconds: float = 0.0

    def coalesce_key(self) -> Hashable | None:
        return self.event_name


@dataclass(frozen=True)
class ImageProgress(Event):
    """One image's stage and bytes in a run: sent on every stage change, and (throttled) as its blobs move.

    Totals, not deltas: a renderer may keep only the newest per image.
    """

    destination: str
    platform: str
    stage: ImageStage
    bytes_done: int  # bytes of its missing blobs on the target so far
    bytes_total: int  # bytes of its blobs the plan uploads

    def coalesce_key(self) -> Hashable | None:
        return (self.event_name, self.destination, self.platform)


@dataclass(frozen=True)
class BlobProgress(Event):
    """A blob on its way to the target (throttled): what is in flight now."""

    repository: str
    digest: str
    image: str  # ``repository:tag`` of an image that needs the blob
    bytes_done: int
    bytes_total: int

    def coalesce_key(self) -> Hashable | None:
        return (self.event_name, self.digest)


@dataclass(frozen=True)
class Stalled(Event):
    """No byte moved for ``seconds`` while work is in flight; sent again each second while it lasts."""

    seconds: float
    waiting_for: str  # ``http://127.0.0.1:5000 (2 uploads in flight)``


@dataclass(frozen=True)
class JobsChanged(Event):
    """``--jobs auto`` moved how many blob uploads go at once (writer slots; small blobs go four a slot)."""

    jobs: int
    why: str  # ``throughput grew``, ``the target throttled or failed``

    def text(self) -> str:
        """``uploads at once: 5 (throughput grew)``."""
        return f"uploads at once: {self.jobs} ({self.why})"


@dataclass(frozen=True)
class Retrying(Event):
    """A request failed for a transient reason and is about to be tried again."""

    server: str  # ``host[:port]``
    what: str  # ``an upload of blob sha256:…``
    reason: str  # ``connection broke``, ``HTTP 503``
    attempt: int  # the try about to start: 2 for the first retry
    until: float  # when (``time.time()``) the retries give up (``--retry-for`` after the first try)
    delay: float  # seconds before it starts

    def text(self) -> str:
        """``retrying HOST: connection broke, try 2; waiting for it until 23:14:05``, as both faces print it."""
        until = time.strftime("%H:%M:%S", time.localtime(self.until))
        return f"retrying {self.server}: {self.reason}, try {self.attempt}; waiting for it until {until}"


@dataclass(frozen=True)
class BlobDone(Event):
    repository: str
    digest: str
    size: int
    how: BlobHow


@dataclass(frozen=True)
class ImageDone(Event):
    ref: str
    destination: str
    platforms_before: tuple[str, ...]
    platforms_after: tuple[str, ...]
    action: ImageAction  # new | add-arch | update-arch | unchanged (rolled-back in a rollback)
    digest: str  # digest the tag holds after the run


@dataclass(frozen=True)
class TagRemerged(Event):
    """Another writer dropped platforms this run added to a tag; the run merged them back."""

    destination: str
    missing: tuple[str, ...]
    platforms_now: tuple[str, ...]  # what the tag served when the run found it


@dataclass(frozen=True)
class TagsConverged(Event):
    """The run's last read of the tags it wrote: how many, how many re-merges, all serving its platforms."""

    tags: int
    remerged: int
    converged: bool
    final: bool = False  # the read after the chart phase, the run's last step against the target


@dataclass(frozen=True)
class ChartDone(Event):
    name: str
    version: str
    destination: str
    action: ChartAction  # new | unchanged | conflict | overwritten
    detail: str = ""


@dataclass(frozen=True)
class Warning(Event):  # the domain word
    message: str


@dataclass(frozen=True)
class Failure(Event):
    """Something could not be imported; the run goes on where it can, then exits 1."""

    subject: str
    message: str


@dataclass(frozen=True)
class RunFinished(Event):
    run_id: str
    status: RunStatus  # done | failed | cancelled
    images: int
    charts: int
    bytes_uploaded: int
    seconds: float
    message: str = ""
    peak_spool: int = 0  # most bytes the spool held at once (memory and disk)
    remerged: int = 0  # tags merged again after another writer dropped a platform of this run
    #: of ``bytes_uploaded``, what went up while the packages were read, before the run (core.run.stage)
    bytes_staged: int = 0


@dataclass(frozen=True)
class ReplicationProgress(Event):
    """A Harbor replication execution to one site moved (``archfuse sites replicate``): its tasks' counts."""

    site: str
    execution_id: int
    status: str  # Harbor's word: InProgress, Succeed, Failed, Stopped
    total: int
    succeed: int
    failed: int
    in_progress: int


@dataclass(frozen=True)
class ReplicationRerun(Event):
    """An execution to ``site`` ended with ``failed`` tasks: a new execution of the policy copies them again."""

    site: str
    execution_id: int  # the new execution
    failed: int
    attempt: int


Emit = Callable[[Event], None]


def discard(_event: Event) -> None:
    """An emitter that drops every event."""
