"""Rollback: put back the tags a run changed, where nobody moved them since.

For each tag the run wrote (its last write, see :meth:`core.record.journal.Journal.tags_of`):

* the tag still points where the run left it, and held another digest before: the previous
  manifest or index is read by digest from the repository and put back by tag (``restored``);
* it still points where the run left it, and did not exist before: the tag is deleted when
  the target can (an OCI layout can); a registry cannot — the distribution API has no tag
  delete (``DELETE /v2/<name>/manifests/<tag>`` is refused; deleting by digest would remove
  the manifest under every tag that shares it), so the tag is ``left`` and the result says so;
* it already holds its previous digest: ``unchanged``;
* it points anywhere else: ``refused``, naming the run that moved it if the journal knows one.

OCI chart tags the run pushed into the target are journaled like image tags and undone the same
way; chart versions pushed elsewhere (ChartMuseum, Harbor's chartrepo, another registry) are
reported ``left``.

A rollback is itself a run (kind ``rollback``) in the journal, with its own tag writes, so it
can be rolled back in turn. It holds the target's run lock, so no archfuse run moves a tag
between the check and the write; a tag another client writes at that very moment is caught
by the read-back and reported ``failed``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core import events as ev
from core.advice import Advice
from core.config import TargetConfig
from core.errors import ArchfuseError, Cancelled, UsageError
from core.kinds import ChartAction, ImageAction, RollbackResult, RunKind, RunStatus
from core.oci import fusion
from core.operations.prune import restore_pruned
from core.record.journal import Journal, RunRecord, TagRecord, target_name
from core.targets.base import NO_TAG_DELETE, Target
from core.terminal import printable_lines

OK_RESULTS = (RollbackResult.RESTORED, RollbackResult.DELETED, RollbackResult.UNCHANGED, RollbackResult.LEFT)


@dataclass
class TagOutcome:
    """What rollback did to one tag, and why."""

    repository: str
    tag: str
    destination: str
    before: str | None  # the digest the run found (what rollback puts back)
    after: str | None  # the digest the run left
    now: str | None  # the digest the tag held when rollback looked
    result: RollbackResult
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RollbackSummary:
    run_id: str  # the rollback run
    rolled_back: str  # the run it undid
    status: RunStatus  # done | failed | cancelled
    tags: list[TagOutcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.status == RunStatus.DONE else 1

    def counts(self) -> dict[RollbackResult, int]:
        return dict(Counter(t.result for t in self.tags))

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "rolled_back": self.rolled_back,
            "status": self.status,
            "counts": self.counts(),
            "tags": [t.to_json() for t in self.tags],
        }

    def render_text(self) -> str:
        lines = [f"  [{t.result}] {t.destination}" + (f": {t.detail}" if t.detail else "") for t in self.tags]
        counts = ", ".join(f"{n} {r}" for r, n in sorted(self.counts().items())) or "no tags"
        lines.append(f"rollback {self.run_id} of run {self.rolled_back}: {self.status} ({counts})")
        return printable_lines(lines)


def config_for_run(record: RunRecord) -> TargetConfig:
    """The target configuration of a run when its description is enough (an OCI layout)."""
    if record.target.startswith("oci:"):
        return TargetConfig(layout_path=Path(record.target[len("oci:") :]))
    raise UsageError(
        Advice(f"Run {record.id} was made against {record.target}; {{same_target}} "
               "with its credentials to roll it back.")
    )


def rollback_run(
    journal: Journal,
    run_id: str,
    target: Target,
    *,
    emit: ev.Emit = ev.discard,
    cancel: threading.Event | None = None,
) -> RollbackSummary:
    """Put back the tags run ``run_id`` changed on ``target``; a new run of kind ``rollback``."""
    record = journal.run(run_id)
    if record.target != target_name(target.description):
        raise UsageError(
            f"Run {record.id} was made against {record.target}, not {target.description}; give that target."
        )
    if record.status == RunStatus.RUNNING:
        raise UsageError(
            f"Run {record.id} is still running (pid {record.pid}); roll it back once it has finished."
        )
    tags = journal.tags_of(record.id)
    with journal.lock(target.description):
        started = time.monotonic()
        rid = journal.start_run(RunKind.ROLLBACK, target.description, [], {"rollback_of": record.id}, parent=record.id)
        emit(ev.RunStarted(rid, target.description, (), len(tags), 0, 0))
        summary = RollbackSummary(rid, record.id, RunStatus.DONE)
        try:
            # a prune deleted manifests: push them back first (byte-identical), then its tags point at them
            gone = restore_pruned(journal.state_dir, record.id, target) if record.kind == RunKind.PRUNE else {}
            for tag in tags:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("The rollback was cancelled; run it again to finish it.")
                outcome = _undo(journal, rid, record, target, tag, gone)
                summary.tags.append(outcome)
                _report(journal, rid, target, outcome, emit)
            for outcome in _charts_left(journal, record, tags):
                summary.tags.append(outcome)
                _report(journal, rid, target, outcome, emit)
        except Cancelled as err:
            summary.status = RunStatus.CANCELLED
            emit(ev.Failure(record.id, str(err)))
        if summary.status == RunStatus.DONE and any(t.result not in OK_RESULTS for t in summary.tags):
            summary.status = RunStatus.FAILED
        problems = [t for t in summary.tags if t.result not in (RollbackResult.RESTORED, RollbackResult.DELETED, RollbackResult.UNCHANGED)]
        message = f"{problems[0].destination}: {problems[0].detail}" if problems else ""
        journal.finish_run(rid, summary.status, summary.counts(), 0, message)
        emit(
            ev.RunFinished(rid, summary.status, len(summary.tags), 0, 0, time.monotonic() - started, message)
        )
    return summary


def _undo(
    journal: Journal, rid: str, record: RunRecord, target: Target, tag: TagRecord, gone: dict[str, str] | None = None
) -> TagOutcome:
    repo, name = tag.repository, tag.tag
    out = TagOutcome(repo, name, f"{target.host}/{repo}:{name}", tag.before, tag.after, None, RollbackResult.FAILED)
    try:
        current = target.get_manifest(repo, name)
        out.now = current.digest if current else None
        if out.now == tag.before:
            out.result = RollbackResult.UNCHANGED
            out.detail = "already at its previous digest" if tag.before else "not there, as before the run"
            return out
        if out.now != tag.after:
            out.result = RollbackResult.REFUSED
            out.detail = _moved_since(journal, record, target, tag, out.now)
            return out
        if tag.before is None:
            return _delete(journal, rid, target, out)
        previous = target.get_manifest(repo, tag.before)
        if previous is None:
            out.result = RollbackResult.REFUSED
            out.detail = (gone or {}).get(tag.before) or (
                f"its previous content {tag.before} is no longer in {repo} (deleted or garbage-collected), "
                "so it cannot be put back"
            )
            return out
        journal.tag_moving(rid, repo, name, out.now, tag.before)
        target.put_manifest(repo, name, previous)
        written = target.get_manifest(repo, name)
        if written is None or written.digest != tag.before:
            out.detail = (
                "another client wrote the tag while rollback restored it; look at it and run rollback again"
            )
            return out
        out.result = RollbackResult.RESTORED
        out.detail = f"back to {tag.before}"
    except ArchfuseError as err:
        out.result = RollbackResult.FAILED
        out.detail = str(err)
    return out


def _charts_left(journal: Journal, record: RunRecord, tags: list[TagRecord]) -> list[TagOutcome]:
    """Chart versions the run pushed (or a prune deleted) that rollback cannot undo (a chart repository,
    another registry)."""
    journaled = {f"/{t.repository}:{t.tag}" for t in tags}  # OCI charts in the target: undone as tags
    deleted = [
        TagOutcome(
            "", "", chart.destination, None, None, None, RollbackResult.LEFT,
            f"chart {chart.name}-{chart.version} was deleted from its chart repository by the prune; rollback "
            "cannot bring it back (import its version again to)",
        )
        for chart in journal.charts_of(record.id)
        if chart.action == ChartAction.DELETED
    ]
    return deleted + [
        TagOutcome(
            "", "", chart.destination, None, None, None, RollbackResult.LEFT,
            f"chart {chart.name}-{chart.version} was pushed to a chart repository that rollback does not change; "
            "it is left there (delete it there if it must go)",
        )
        for chart in journal.charts_of(record.id)
        if chart.action in (ChartAction.NEW, ChartAction.OVERWRITTEN) and not any(chart.destination.endswith(j) for j in journaled)
    ]


def _delete(journal: Journal, rid: str, target: Target, out: TagOutcome) -> TagOutcome:
    if not target.deletes_tags:
        out.result = RollbackResult.LEFT
        out.detail = (
            f"the tag did not exist before the run, but the registry API has no way to delete a tag ({NO_TAG_DELETE}), "
            f"so it is left pointing at {out.after}"
        )
        return out
    journal.tag_moving(rid, out.repository, out.tag, out.now, None)
    try:
        deleted = target.delete_tag(out.repository, out.tag)
    except ArchfuseError as err:
        out.result = RollbackResult.LEFT
        out.detail = f"the tag did not exist before the run, but {target.description} would not delete it ({err}); it is left"
        return out
    out.result = RollbackResult.DELETED if deleted is not False else RollbackResult.UNCHANGED
    out.detail = "removed: it did not exist before the run" if deleted is not False else "already gone"
    return out


def _moved_since(journal: Journal, record: RunRecord, target: Target, tag: TagRecord, now: str | None) -> str:
    where = f"now points at {now}" if now else "was deleted"
    later = journal.last_writer(target.description, tag.repository, tag.tag, now)
    if later is not None and later.id != record.id:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(later.started))
        return (
            f"it {where}, not where run {record.id} left it ({tag.after}): {later.kind} run {later.id} "
            f"of {when} moved it since; roll that run back first"
        )
    return (
        f"it {where}, not where run {record.id} left it ({tag.after}): another client changed it since, "
        "so it is kept"
    )


def _platforms(target: Target, repository: str, digest: str | None) -> tuple[str, ...]:
    if not digest:
        return ()
    try:
        manifest = target.get_manifest(repository, digest)
        reader = fusion.config_platform_reader(lambda d: target.get_blob(repository, d))
        return fusion.current_platforms(manifest, reader)
    except ArchfuseError:
        return ()


def _report(journal: Journal, rid: str, target: Target, out: TagOutcome, emit: ev.Emit) -> None:
    ref = f"{out.repository}:{out.tag}"
    digest = (out.before or "") if out.result in (RollbackResult.RESTORED, RollbackResult.DELETED) else (out.now or "")
    journal.record_image(
        rid,
        ref,
        "",
        out.destination,
        ImageAction.ROLLED_BACK if out.result in (RollbackResult.RESTORED, RollbackResult.DELETED) else out.result,
        digest,
        out.detail,
    )
    if out.result in (RollbackResult.RESTORED, RollbackResult.DELETED):
        emit(
            ev.ImageDone(
                ref,
                out.destination,
                _platforms(target, out.repository, out.after),
                _platforms(target, out.repository, out.before),
                ImageAction.ROLLED_BACK,
                out.before or "",
            )
        )
    elif out.result == RollbackResult.LEFT:
        emit(ev.Warning(f"{out.destination}: {out.detail}"))
    elif out.result != RollbackResult.UNCHANGED:
        emit(ev.Failure(out.destination, out.detail))
