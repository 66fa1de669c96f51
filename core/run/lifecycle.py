"""A run's life in one place: the target's lock, the journal's start, the run, its outcome, its report."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import events as ev
from core.kinds import RunKind, RunStatus
from core.plan.charts import ChartJob
from core.plan.images import Plan
from core.plan.results import ChartResult, ImageResult, RunSummary
from core.record.journal import Journal
from core.record.report import build_report, write_report
from core.run.engine import BlobFeed, ImportRun, RunOptions
from core.run.stop import Stop
from core.targets.base import Target


@dataclass(frozen=True)
class JournalRecorder:
    """A run's tag writes, images and charts as plain rows of the journal, as they happen."""

    journal: Journal
    run_id: str

    def tag_moving(self, repository: str, tag: str, before: str | None, after: str) -> None:
        self.journal.tag_moving(self.run_id, repository, tag, before, after)

    def image_done(self, result: ImageResult) -> None:
        self.journal.record_image(
            self.run_id, result.ref, result.platform, result.destination, result.action, result.digest,
            _outcome(result.error),
        )

    def chart_done(self, result: ChartResult) -> None:
        self.journal.chart_done(
            self.run_id, result.name, result.version, result.destination, result.action, _outcome(result.error)
        )


def _outcome(error: str) -> str:
    return f"error: {error}" if error else "done"


def journaled_run(
    plan: Plan,
    target: Target,
    *,
    state_dir: Path,
    charts: ChartJob | None = None,
    options: RunOptions | None = None,
    settings: dict[str, Any] | None = None,
    secrets: tuple[str, ...] = (),
    emit: ev.Emit = ev.discard,
    cancel: threading.Event | None = None,
    staged: int = 0,
    feed: BlobFeed | None = None,
    kind: RunKind = RunKind.IMPORT,
) -> RunSummary:
    """Carry out ``plan`` (then ``charts``) as an import run of the journal, under the target's lock.

    A ``cancel`` that is a :class:`Stop` set by a signal records the run as ``interrupted``.
    ``settings`` are the run's choices the journal keeps (secrets dropped); the report goes to
    ``<state_dir>/reports`` (a failure to write it is a warning). ``staged``: the bytes uploaded while
    the packages were read (core.run.stage), counted in the run's. ``feed``: a reader shared with
    other sites' runs (core.run.fanout). ``kind``: an import, or a repair (core.operations.repair),
    journaled alike so history and rollback see it.
    """
    with Journal(state_dir, secrets=secrets, emit=emit) as journal, journal.lock(target.description):
        run_id = journal.start_run(kind, target.description, plan.packages, settings or {})
        recorder = JournalRecorder(journal, run_id)
        try:
            summary = ImportRun(
                plan, target, options=options, emit=emit, cancel=cancel, recorder=recorder, run_id=run_id, charts=charts,
                staged=staged, feed=feed,
            ).execute()
        except BaseException as err:
            journal.finish_run(run_id, RunStatus.FAILED, {}, 0, str(err))
            raise
        first = summary.failures[0] if summary.failures else ""
        status = summary.status
        if status == RunStatus.CANCELLED and isinstance(cancel, Stop) and cancel.interrupted:
            status = RunStatus.INTERRUPTED  # stopped safely because the process was told to (SIGHUP, SIGTERM)
            first = f"{cancel.signal}: {first}"
        journal.finish_run(run_id, status, summary.counts, summary.bytes_uploaded, first)
    try:
        report = build_report(summary, plan.packages, target.description)
        summary.reports = write_report(state_dir, report, secrets)
    except OSError as err:
        emit(ev.Warning(f"The run report could not be written to {state_dir}: {err.strerror or err}."))
    return summary
