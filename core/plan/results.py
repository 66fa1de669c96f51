"""What a run made of each image and chart: results, read by the journal, the report and the faces.

A plan says what a run means to do and is never changed by it; these say what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.errors import STOPPED_EXIT
from core.kinds import ChartAction, ImageAction, RunStatus


@dataclass(frozen=True)
class ImageResult:
    """What one image (one platform at one destination tag) became in a run."""

    ref: str  # as the package names it
    platform: str
    repository: str
    tag: str
    destination: str
    action: ImageAction
    digest: str  # the platform's manifest
    tag_before: str = ""  # the digest the tag held before the run ("" when it did not exist)
    tag_after: str = ""  # the digest the tag serves after the run ("" when it does not exist)
    platforms_before: tuple[str, ...] = ()
    platforms_after: tuple[str, ...] = ()
    upload_bytes: int = 0
    error: str = ""


@dataclass(frozen=True)
class ChartResult:
    """What one chart version became in a run."""

    repo: str
    name: str
    version: str
    destination: str
    action: ChartAction
    digest: str = ""
    error: str = ""
    detail: str = ""


def counts(results: tuple[ImageResult, ...]) -> dict[ImageAction, int]:
    """How many images each action took."""
    out: dict[ImageAction, int] = {}
    for result in results:
        out[result.action] = out.get(result.action, 0) + 1
    return out


@dataclass
class RunSummary:
    """How a run ended and what each image and chart became."""

    run_id: str
    status: RunStatus  # done | failed | cancelled
    bytes_uploaded: int
    seconds: float
    counts: dict[ImageAction, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    peak_spool: int = 0
    remerged: int = 0  # tags merged again after another writer dropped a platform (core.run.converge)
    reports: tuple[Path, ...] = ()  # the run report (Markdown, JSON) once written (core.record.report)
    images: tuple[ImageResult, ...] = ()  # every image of the plan: what it became, or as planned if not reached
    charts: tuple[ChartResult, ...] = ()  # every chart version of the plan, likewise

    @property
    def exit_code(self) -> int:
        """0 done; a safe stop on request (cancelled) has its own code; 1 failed."""
        if self.status == RunStatus.DONE:
            return 0
        return STOPPED_EXIT if self.status == RunStatus.CANCELLED else 1
