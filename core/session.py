"""A session: one engineer's work against one target — scan, check, plan, run, verify, history, rollback.

Both faces open it with :func:`open_session` from a :class:`core.config.TargetConfig` and drive it
the same way, so they render the same engine events. A :class:`Workspace` is the part that needs
no target (scans, the journal's history), for the TUI before a target is chosen and the CLI's
``scan`` and ``history``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import events as ev
from core.advice import Advice
from core.charts.destinations import ChartDestination, open_chart_destination
from core.checks.base import CheckContext, CheckOptions
from core.checks.preflight import Preflight, prepare, run_preflight
from core.config import TargetConfig
from core.errors import ArchfuseError, PreflightFailed, UsageError
from core.helpers.parallel import parallel_map
from core.jsonable import json_fields
from core.kinds import ChartAction, RegistryFlavour, RunKind, RunStatus, VerifyStatus
from core.operations.prune import PrunePlan, PruneSummary, plan_prune, prune_run
from core.operations.repair import RepairPlan, plan_repair, repair_run
from core.operations.replicate import (
    ReplicationOptions,
    ReplicationPlan,
    ReplicationSummary,
    plan_replication,
    run_replication,
)
from core.operations.rollback import RollbackSummary, rollback_run
from core.operations.sites_verify import SitesReport, SiteView, verify_sites
from core.operations.verify import ImageCheck, verify_images
from core.package.background import BackgroundScan, ScanResult
from core.package.choice import ChartSelection
from core.package.listing import (
    ChartSummary,
    PackageDiff,
    Where,
    chart_summaries,
    listing_json,
    package_diff,
    registry_host,
    upgrade_of,
)
from core.package.model import PackageIndex
from core.package.scan import Unreadable, scan_each, scan_paths
from core.package.selection import Listed, Selection, default_selection
from core.plan.charts import ChartJob, ChartPlan, plan_charts
from core.plan.results import RunSummary
from core.record import runlock
from core.record.forms import Value, recall_form, remember_form
from core.record.journal import Journal, RunDetail, RunRecord, TagRecord, target_name
from core.record.report import add_verify, report_paths
from core.record.state import state_dir as default_state_dir
from core.registry.uploads import UploadMemo
from core.run.coverage import TagCoverage, tag_coverage
from core.run.engine import BlobFeed, RunOptions
from core.run.fanout import FanOut
from core.run.lifecycle import journaled_run
from core.run.progress import Watchdog
from core.run.stage import BlobStager
from core.secrets import masked_emit
from core.targets.base import Target
from core.targets.connect import open_harbor, open_target
from core.targets.registry import RegistryTarget
from core.targets.sites import Site
from core.terminal import printable_lines
from core.units import size_text


@dataclass(frozen=True)
class ChartCheck:
    name: str
    version: str
    destination: str
    status: VerifyStatus
    detail: str = ""

    @classmethod
    def of(cls, plan: ChartPlan) -> ChartCheck:
        """Verify a chart from its plan: the destination holds exactly the relocated chart."""
        by_action: dict[ChartAction, VerifyStatus] = {
            ChartAction.UNCHANGED: VerifyStatus.OK,
            ChartAction.NEW: VerifyStatus.MISSING,
            ChartAction.CONFLICT: VerifyStatus.OTHER_CONTENT,
        }
        status = by_action.get(plan.action, VerifyStatus.ERROR)
        detail = {
            VerifyStatus.MISSING: f"{plan.destination} does not exist",
            VerifyStatus.OTHER_CONTENT: Advice(f"{plan.destination} holds other content than the package's chart "
                                               "(import again and {force_charts} to overwrite it)"),
            VerifyStatus.ERROR: plan.error,
        }.get(status, "")
        return cls(plan.name, plan.version, plan.destination, status, detail)

    def to_json(self) -> dict[str, object]:
        return json_fields(self, ("name", "version", "destination", "status", "detail"))


@dataclass
class VerifyReport:
    images: list[ImageCheck] = field(default_factory=list)
    charts: list[ChartCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.status == VerifyStatus.OK for i in self.images) and all(c.status == VerifyStatus.OK for c in self.charts)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "images": [i.to_json() for i in self.images],
            "charts": [c.to_json() for c in self.charts],
        }

    def render_text(self) -> str:
        lines = [f"  [{i.status}] {i.destination} {i.platform}" + (f": {i.detail}" if i.detail else "") for i in self.images]
        lines += [f"  [{c.status}] chart {c.name}-{c.version}" + (f": {c.detail}" if c.detail else "") for c in self.charts]
        bad = sum(1 for i in self.images if i.status != VerifyStatus.OK) + sum(1 for c in self.charts if c.status != VerifyStatus.OK)
        total = len(self.images) + len(self.charts)
        kept = sum(1 for c in self.charts if c.status == VerifyStatus.OTHER_CONTENT)
        advice = []
        if bad > kept:
            advice.append("run the import again to complete it")
        if kept:
            advice.append(
                Advice(f"{kept} chart version(s) hold other content than the package's (kept by the import): "
                       "import again and {force_charts} to overwrite them")
            )
        lines.append(f"verify: {total - bad}/{total} ok" + (f"; {'; '.join(advice)}." if advice else ""))
        return printable_lines(lines)


class Workspace:
    """What needs no target: packages scanned (cached in the state dir) and the journal's runs."""
    def __init__(self, *, state_dir: Path | str | None = None, emit: ev.Emit = ev.discard) -> None:
        self.state_dir = default_state_dir(state_dir)
        self.emit = emit
        self.chart_selection = ChartSelection()  # the charts the last select_charts took (journaled by a run)

    def select_charts(self, packages: list[PackageIndex], selection: ChartSelection) -> list[PackageIndex]:
        """The packages with the charts ``selection`` takes and the images those need (a package left
        without a chart is dropped); UsageError for a pattern that names no chart. Images an unchosen
        chart shares are said in a Warning (imported once, for the chart taken)."""
        chosen = selection.apply(packages)
        self.chart_selection = selection
        shared = selection.shared(packages)
        if shared:
            self.emit(ev.Warning(
                f"{len(shared)} image(s) of the charts taken are shared with charts not taken (imported once): "
                + "; ".join(f"{ref} (also {', '.join(names)})" for ref, names in sorted(shared.items())[:5])
                + ("; ..." if len(shared) > 5 else "")
            ))
        return chosen

    def listing(
        self, packages: list[PackageIndex], selection: ChartSelection | None = None, *, registry: str = "",
        prefix: str = "",
    ) -> dict[str, Any]:
        """``archfuse list``: the charts and images of the packages, references where ``registry`` and
        ``prefix`` put them (the destination path alone without a registry)."""
        return listing_json(packages, selection, Where(registry_host(registry) if registry else "", prefix))

    def diff(
        self, old: list[Path], new: list[Path], selection: ChartSelection | None = None, *, rescan: bool = False
    ) -> PackageDiff:
        """``archfuse diff``: what the packages under ``new`` change against those under ``old``."""
        before, after = self.scan(old, rescan=rescan), self.scan(new, rescan=rescan)
        if selection is not None:
            selection.apply(before + after)  # a pattern that names no chart is refused
        return package_diff(before, after, selection)

    def diff_with_target(
        self, new: list[Path], config: TargetConfig, selection: ChartSelection | None = None, *, rescan: bool = False
    ) -> PackageDiff:
        """``archfuse diff NEW --registry TARGET``: what the packages under ``new`` change against the
        newest older ones the journal says were imported into ``config``'s target (read again from the
        scan cache, so their files must still be where they were imported from)."""
        after = self.scan(new, rescan=rescan)
        imported = self.imported(config)
        paths: set[Path] = set()
        with Journal(self.state_dir, emit=self.emit) as journal:
            for run_id in {run for run, _when in imported.values()}:
                paths.update(Path(str(p["path"])) for p in journal.run(run_id).packages if p.get("path"))
        gone = sorted(str(p) for p in paths if not p.is_file())
        if gone:
            raise UsageError(
                f"The journal's imports into {config.description} came from {', '.join(gone)}, which is no longer "
                "there: give OLD as a package file instead."
            )
        sides = upgrade_of(after, self.scan(sorted(paths), rescan=rescan), imported)
        if sides is None:
            raise UsageError(
                f"The journal knows no import into {config.description} of an older version of these packages: "
                "nothing to compare them with."
            )
        if selection is not None:
            selection.apply(sides[0] + sides[1])  # a pattern that names no chart is refused
        return package_diff(*sides, selection)

    def upgrade_diff(
        self, chosen: list[PackageIndex], available: list[PackageIndex], config: TargetConfig | None = None,
        selection: ChartSelection | None = None,
    ) -> PackageDiff | None:
        """What an upgrade changes (the Checks screen): per kind and arch, the newest package chosen
        against the older one chosen with it, else the newest older one the journal says ``config``'s
        target holds; None when nothing chosen is an upgrade."""
        imported = self.imported(config) if config is not None else {}
        sides = upgrade_of(chosen, available, imported)
        return package_diff(*sides, selection) if sides is not None else None

    def scan(self, paths: list[Path], *, strict: bool = False, rescan: bool = False) -> list[PackageIndex]:
        """Scan packages; the cache in the state dir answers unless ``rescan`` (which refreshes it)."""
        return scan_paths(paths, state_dir=self.state_dir, emit=self.emit, strict=strict, use_cache=not rescan)

    def scan_each(self, paths: list[Path], *, rescan: bool = False) -> tuple[list[PackageIndex], list[Unreadable]]:
        """Scan packages, setting aside (with the reason) those that cannot be read."""
        return scan_each(paths, state_dir=self.state_dir, emit=self.emit, use_cache=not rescan)

    def background_scan(
        self,
        files: list[Path],
        *,
        done: Callable[[ScanResult], None],
        emit: ev.Emit | None = None,
        cancel: threading.Event | None = None,
    ) -> BackgroundScan:
        """A scan of ``files`` to run in a worker thread (:meth:`BackgroundScan.run`): cached ones
        first, each result to ``done``, stopped by ``cancel``."""
        return BackgroundScan(files, state_dir=self.state_dir, emit=emit or self.emit, done=done, cancel=cancel)

    @staticmethod
    def default_selection(listed: Iterable[Listed]) -> Selection:
        """Every arch of the newest version that has them all, and the sentence saying why."""
        return default_selection(listed)

    def imported(self, config: TargetConfig) -> dict[tuple[str, str], tuple[str, float]]:
        """What the journal says the target already holds: per (version, arch), the run and its time."""
        with Journal(self.state_dir, emit=self.emit) as journal:
            return journal.imported_packages(config.description)

    def charts_held(self, config: TargetConfig) -> dict[str, set[str]]:
        """What the journal says the target holds of each chart: name -> versions its imports pushed."""
        held: dict[str, set[str]] = {}
        with Journal(self.state_dir, emit=self.emit) as journal:
            for run_id, _ in journal.imported_packages(config.description).values():
                for row in journal.charts_of(run_id):
                    held.setdefault(row.name, set()).add(row.version)
        return held

    @staticmethod
    def chart_summaries(packages: list[PackageIndex], held: dict[str, set[str]] | None = None) -> list[ChartSummary]:
        """The chart checklist: per chart, its versions, images, bytes per arch and what the target holds."""
        return chart_summaries(packages, held)

    def verify_sites(self, packages: list[PackageIndex], sites: list[tuple[str, Session]]) -> SitesReport:
        """``verify --sites``: every tag (each platform) and chart version of the packages at each named
        site's session, as a site × tag × platform matrix; the first site is the hub. Reads only."""
        views = [SiteView(name, s.target, s.charts, s.prefix) for name, s in sites]
        report = verify_sites(packages, views, state_dir=self.state_dir)
        for _, session in sites:  # the matrix goes into the report of each site's newest import of the packages
            session.add_to_report(packages, report.to_json(), key="sites")
        return report

    def run_detail(self, run: RunRecord) -> RunDetail:
        """What the journal recorded of a run: tags moved, images and charts."""
        with Journal(self.state_dir, emit=self.emit) as journal:
            return RunDetail(run, journal.tags_of(run.id), journal.images_of(run.id), journal.charts_of(run.id))

    def report_of(self, run_id: str) -> Path | None:
        """The Markdown report of a run, when it was written."""
        path = report_paths(self.state_dir, run_id)[0]
        return path if path.is_file() else None

    def history(self, limit: int = 50) -> list[RunRecord]:
        """Runs in the journal, newest first."""
        with Journal(self.state_dir, emit=self.emit) as journal:
            return journal.runs(limit)

    def run_to_resume(self) -> RunRecord | None:
        """The newest import stopped before it finished (a signal, a dead process, a cancel) that no
        finished import into its target followed: what a face offers to resume on start."""
        with Journal(self.state_dir, emit=self.emit) as journal:
            return journal.run_to_resume()

    def remember_form(self, config: TargetConfig, fields: Mapping[str, object]) -> None:
        """Keep the Target form's ``fields`` for ``config``'s target in the state dir, never a secret
        (no password field, nor a field holding one of the configuration's secrets)."""
        remember_form(self.state_dir, config.description, fields, config.secrets())

    def remembered_form(self, target: str | None = None) -> dict[str, Value]:
        """The Target form kept for ``target`` (a target's description), else for the last one used."""
        return recall_form(self.state_dir, target)

    def find_run(self, run_id: str) -> tuple[RunRecord, list[TagRecord]]:
        """A run of the journal (by id or unique prefix) and the tags it wrote; UsageError if none."""
        with Journal(self.state_dir, emit=self.emit) as journal:
            record = journal.run(run_id)
            return record, journal.tags_of(record.id)


#: packages a cold import reads at once (both arches side by side: one's uploads go on while the other is read)
READ_AT_ONCE = 2


class Session(Workspace):
    """Scan, preflight, run, verify, history and rollback against one target.

    Made by :func:`open_session`, the one way the faces reach a target.
    """
    def __init__(
        self,
        target: Target,
        *,
        config: TargetConfig,
        charts: ChartDestination | None = None,
        state_dir: Path | str | None = None,
        emit: ev.Emit = ev.discard,
        force_charts: bool = False,
    ) -> None:
        super().__init__(state_dir=state_dir, emit=emit)
        self.config = config
        self.target = target
        self.secrets = config.secrets()
        self.emit = masked_emit(emit, self.secrets)  # events never carry a secret to a face
        self.charts = charts
        self.force_charts = force_charts
        self.prefix = config.prefix
        self.sources: dict[str, str] = {}  # blobs uploaded while scanning (scan_to_import), for the plan
        self.staged = (0, 0)  # blobs and bytes uploaded while scanning (scan_to_import), no tag on them
        self._held = contextlib.ExitStack()  # the target's run lock, from the one read until close()
        self._holding = False
        if isinstance(target, RegistryTarget):  # a killed run's chunked uploads are continued by the next
            target.client.uploads = UploadMemo(self.state_dir / "uploads")

    def target_lock(self) -> contextlib.AbstractContextManager[runlock.LockOwner]:
        """Hold the target's run lock (by its identity, not its spelling); re-entrant in one thread.
        Raises :class:`core.errors.RunLocked` naming the run that holds it."""
        return runlock.hold(target_name(self.target.description))

    def hold_target(self) -> None:
        """Take the target's run lock until :meth:`close`, before the first byte goes to the target;
        the run (in this thread) re-enters it."""
        if not self._holding:
            self._held.enter_context(self.target_lock())
            self._holding = True

    def untagged_note(self) -> str:
        """What a refused import leaves on the target: nothing, or the blobs its one read uploaded."""
        blobs, size = self.staged
        if not blobs:
            return "Nothing was written."
        return (
            f"No tag moved; {blobs} blob(s) ({size_text(size)}) were uploaded untagged while the packages were "
            "read: the next run reuses them, and the registry's garbage collection removes them."
        )

    def scan_to_import(
        self,
        paths: list[Path],
        *,
        strict: bool = False,
        rescan: bool = False,
        options: RunOptions | None = None,
        charts: ChartSelection | None = None,
    ) -> list[PackageIndex]:
        """Scan for an import the engineer has agreed to: a package that is read (no scan cache)
        uploads its blobs to the registry as they pass (core.run.stage), so it is read once; only
        the blobs of the charts ``charts`` takes (the packages returned are the whole scan: see
        :meth:`select_charts`).

        Only content-addressed blobs are written before the checks; no tag moves. Into a layout,
        or when the registry does not answer, this is :meth:`scan`.
        """
        if not isinstance(self.target, RegistryTarget):
            return self.scan(paths, strict=strict, rescan=rescan)
        self.hold_target()  # before the first byte goes to the target: a second run is refused now
        taken = charts if charts is not None and not charts.everything else None
        stager = BlobStager(
            self.target, options or RunOptions(), prefix=self.prefix, emit=self.emit,
            chooses=taken.chooses if taken is not None else None,
        )
        self.target.watch(stager.slots.watching(self.emit), None)  # retries are told as they happen
        try:
            with Watchdog(stager.tick):  # a registry that stops answering is told, as in a run
                try:
                    self.target.ping(retry=False)  # the checks try again, patiently, and say what is wrong
                except ArchfuseError:
                    return self.scan(paths, strict=strict, rescan=rescan)
                try:
                    packages = scan_paths(
                        paths, state_dir=self.state_dir, emit=self.emit, strict=strict, use_cache=not rescan,
                        sink=stager, at_once=READ_AT_ONCE,
                    )
                except ArchfuseError as err:
                    stager.close()
                    self.staged = stager.uploaded
                    if self.staged[0]:
                        err.hint = " ".join(h for h in (err.hint, self.untagged_note()) if h)
                    raise
        except KeyboardInterrupt:  # a signal: uploads in flight are cut (their registry uploads kept), not waited for
            stager.abandon()
            raise
        finally:
            stager.close()
            self.target.watch(self.emit, None)
        self.sources.update(stager.sources)
        self.staged = stager.uploaded
        return packages

    def preflight(
        self,
        packages: list[PackageIndex],
        *,
        strict: bool = False,
        options: RunOptions | None = None,
        checks: CheckOptions | None = None,
    ) -> Preflight:
        """Every check, then the plan when the target could be read.

        Writes nothing: what an import changes before its run (missing registry spaces to create,
        leftover directories to remove) is only found, and :meth:`prepare` does it once agreed to.
        """
        opts = options or RunOptions()
        context = CheckContext(
            packages,
            self.target,
            self.state_dir,
            prefix=self.prefix,
            config=self.config,
            charts=self.charts,
            force_charts=self.force_charts,
            secrets=self.secrets,
            strict=strict,
            spool_dir=opts.spool_dir,
            spool_budget=opts.spool_budget,
            jobs=opts.workers,
            sources=dict(self.sources),
            options=checks or CheckOptions(),
        )
        return run_preflight(context, self.emit)

    def prepare(self, preflight: Preflight) -> Preflight:
        """Once the engineer agreed to the import: create the registry spaces and remove the leftover
        directories the preflight found (``create_spaces``, ``clean_leftovers``), under the target's
        lock; the preflight to run (checked again when spaces were created)."""
        if not preflight.pending:
            return preflight
        with self.target_lock():
            return prepare(preflight, self.emit)

    def run(
        self,
        preflight: Preflight,
        *,
        cancel: threading.Event | None = None,
        options: RunOptions | None = None,
        feed: BlobFeed | None = None,
    ) -> RunSummary:
        """Carry out a preflight's plan; refuses when a check failed. ``feed``: the packages are read
        once for several sites (:func:`run_sites`)."""
        if preflight.failed or preflight.plan is None:
            first = preflight.failures[0] if preflight.failures else None
            raise PreflightFailed(
                f"Preflight failed ({first.name}: {first.detail})" if first else "Preflight did not produce a plan.",
                hint=self.untagged_note(),
            )
        opts = options or RunOptions()
        settings = {
            "prefix": self.prefix,
            "spool_budget": opts.spool_budget,
            "workers": opts.workers,
            "force_charts": self.force_charts,
        }
        if not self.chart_selection.everything:
            settings["charts"] = self.chart_selection.describe()
        charts = ChartJob(preflight.charts, self.charts, self.force_charts) if self.charts is not None else None
        staged, self.staged = self.staged[1], (0, 0)  # the one read's uploads are this run's, counted once
        return journaled_run(
            preflight.plan,
            self.target,
            state_dir=self.state_dir,
            charts=charts,
            options=opts,
            settings=settings,
            secrets=self.secrets,
            emit=self.emit,
            cancel=cancel,
            staged=staged,
            feed=feed,
        )

    def prune_plan(
        self, *, keep: int | None = None, drop: str | None = None, charts: ChartSelection | None = None
    ) -> PrunePlan:
        """What a prune to the newest ``keep`` versions per package kind (or without version ``drop``; of the
        ``charts`` chosen only) removes from the target and keeps, and why; writes nothing."""
        with Journal(self.state_dir, secrets=self.secrets, emit=self.emit) as journal:
            return plan_prune(journal, self.target, keep=keep, drop=drop, flavour=self._flavour(), charts=self.charts,
                              selection=charts, packages_of=self._packages_of)

    def _packages_of(self, run: RunRecord) -> list[PackageIndex]:
        """The packages of an import, read again (the scan cache answers), for a prune of some charts."""
        paths = [Path(str(p.get("path", ""))) for p in run.packages]
        for path in paths:
            if not path.is_file():
                raise UsageError(
                    f"Pruning some charts only reads the packages of the dropped versions again (which image each "
                    f"chart uses), and {path} (run {run.id}) is no longer there: put it back, or prune every chart."
                )
        return self.scan(paths)

    def prune(self, plan: PrunePlan, *, cancel: threading.Event | None = None) -> PruneSummary:
        """Carry out an agreed prune plan (what is still safe when it runs); a journaled run."""
        harbor = open_harbor(self.config) if plan.flavour == RegistryFlavour.HARBOR else None
        try:
            with Journal(self.state_dir, secrets=self.secrets, emit=self.emit) as journal:
                return prune_run(journal, plan, self.target, charts=self.charts, harbor=harbor,
                                 packages_of=self._packages_of, emit=self.emit, cancel=cancel)
        finally:
            if harbor is not None:
                harbor.close()

    def _flavour(self) -> str:
        """``layout``, or the registry's flavour (Harbor or distribution): how a prune removes tags, and
        the advice after it."""
        if not isinstance(self.target, RegistryTarget):
            return "layout"
        try:
            harbor = open_harbor(self.config)
            if harbor is None:
                return RegistryFlavour.DISTRIBUTION
            with harbor:
                return harbor.detect().name
        except ArchfuseError:
            return RegistryFlavour.DISTRIBUTION

    def rollback(self, run_id: str, *, cancel: threading.Event | None = None) -> RollbackSummary:
        """Put back the tags a run changed, where they still point where it left them."""
        with Journal(self.state_dir, secrets=self.secrets, emit=self.emit) as journal:
            return rollback_run(journal, run_id, self.target, emit=self.emit, cancel=cancel)

    def verify(self, packages: list[PackageIndex]) -> VerifyReport:
        """Check the target holds every image (and platform) of the packages; the verification goes
        into the report of the newest import of these packages into this target, when there is one."""
        report = VerifyReport(images=verify_images(packages, self.target, prefix=self.prefix))
        if self.charts is not None and any(p.charts for p in packages):
            plans = plan_charts(
                packages, self.charts, host=self.target.host, prefix=self.prefix, state_dir=self.state_dir
            )
            report.charts = [ChartCheck.of(plan) for plan in plans]
        self.add_to_report(packages, report.to_json())
        return report

    def add_to_report(self, packages: list[PackageIndex], verify: dict[str, Any], *, key: str = "verify") -> None:
        """Put a verification into the report of the newest import of ``packages`` into this target, when
        there is one (a warning when it cannot be written)."""
        report_json = self._import_report(packages)
        if report_json is not None:
            try:
                add_verify(report_json, verify, self.secrets, key=key)
            except (OSError, ValueError) as err:  # the report stays as the run wrote it
                self.emit(ev.Warning(f"The verification could not be added to the report {report_json}: {err}"))

    def repair_plan(
        self, packages: list[PackageIndex], *, options: RunOptions | None = None, hub: RepairPlan | None = None
    ) -> RepairPlan:
        """What ``verify --repair`` puts back on the target: missing child manifests and blobs, lost
        platforms, stale tags and lost chart versions of the packages; with the ``hub``'s plan (several
        sites), the hub's index where a tag is right but by another index. Writes nothing."""
        charts = None
        if self.charts is not None and any(p.charts for p in packages):
            charts = plan_charts(packages, self.charts, host=self.target.host, prefix=self.prefix,
                                 state_dir=self.state_dir)
        return plan_repair(packages, self.target, prefix=self.prefix, jobs=(options or RunOptions()).workers,
                           charts=charts, hub=hub.indexes if hub is not None else None)

    def repair(
        self, plan: RepairPlan, *, options: RunOptions | None = None, cancel: threading.Event | None = None
    ) -> RunSummary:
        """Carry out an agreed repair plan: a journaled run (kind ``repair``) through the import's path."""
        return repair_run(plan, self.target, state_dir=self.state_dir, charts=self.charts, options=options,
                          settings={"prefix": self.prefix}, secrets=self.secrets, emit=self.emit, cancel=cancel)

    def _import_report(self, packages: list[PackageIndex]) -> Path | None:
        """The JSON report of the newest import into this target that carried every one of ``packages``."""
        names = {p.name for p in packages}
        with Journal(self.state_dir, emit=self.emit) as journal:
            runs = journal.runs(20, target=self.config.description)
        for run in runs:
            if run.kind == RunKind.IMPORT and names <= {str(p.get("name", "")) for p in run.packages}:
                path = report_paths(self.state_dir, run.id)[1]
                return path if path.is_file() else None
        return None

    def replication_plan(self, sites: Sequence[Site], *, run_id: str | None = None) -> ReplicationPlan:
        """Harbor replication from this target (the hub) to ``sites`` of what one import wrote (``run_id``,
        else the newest import into the hub that finished): each pair checked, what exists found; writes nothing."""
        with Journal(self.state_dir, secrets=self.secrets, emit=self.emit) as journal:
            if run_id:
                run = journal.run(run_id)
            else:
                done = [r for r in journal.runs(50, target=self.config.description)
                        if r.kind == RunKind.IMPORT and r.status == RunStatus.DONE]
                if not done:
                    raise UsageError(
                        f"The journal has no finished import into {self.config.description}, so there is nothing "
                        "to replicate from it: import into the hub first."
                    )
                run = done[0]
            tags = journal.tags_of(run.id)
        return plan_replication(self.config, sites, run.id, tags)

    def replicate(
        self, plan: ReplicationPlan, options: ReplicationOptions, *, sleep: Callable[[float], None] = time.sleep
    ) -> ReplicationSummary:
        """Carry out an agreed replication plan: the label on what the import wrote, per site the hub's
        endpoint and policy, executions followed (events), failed tasks re-run, and each site verified
        (against the import's packages while they are where they were imported from, read from the scan
        cache; else by the digests the journal holds)."""
        run, _tags = self.find_run(plan.run_id)
        paths = [Path(str(p.get("path", ""))) for p in run.packages]
        packages = self._packages_of(run) if paths and all(path.is_file() for path in paths) else None
        return run_replication(plan, options, self.emit, sleep, packages=packages)

    def coverage(self, tags: Iterable[tuple[str, str]]) -> list[TagCoverage]:
        """The platforms each ``(repository, tag)`` serves, and the arches its repository's other tags
        serve that it lacks."""
        return tag_coverage(self.target, tags)

    def close(self) -> None:
        """Close the target's connections and the chart destination's own; let go of the target's lock."""
        self._held.close()
        self._holding = False
        self.target.close()
        if self.charts is not None:
            self.charts.close()


def open_session(
    config: TargetConfig,
    *,
    state_dir: Path | str | None = None,
    emit: ev.Emit = ev.discard,
    force_charts: bool = False,
    session_class: type[Session] = Session,
) -> Session:
    """The session for a target configuration: its target, chart destination and secrets opened.

    The one entry point of both faces (``session_class`` lets tests pin what changes per run).
    """
    target = open_target(config)
    try:
        charts = open_chart_destination(config, target)
    except BaseException:
        target.close()
        raise
    return session_class(
        target, config=config, charts=charts, state_dir=state_dir, emit=emit, force_charts=force_charts
    )


@dataclass(frozen=True)
class SiteOutcome:
    """How one site of a run to several sites ended: its run's summary, or what stopped it before."""

    summary: RunSummary | None
    error: ArchfuseError | None = None

    @property
    def status(self) -> RunStatus:
        return self.summary.status if self.summary is not None else RunStatus.FAILED

    @property
    def message(self) -> str:
        if self.summary is not None:
            return self.summary.failures[0] if self.summary.failures else ""
        return str(self.error or "")

    @property
    def exit_code(self) -> int:
        return self.summary.exit_code if self.summary is not None else 1


def preflight_sites(
    sessions: Sequence[Session],
    packages: list[PackageIndex],
    *,
    strict: bool = False,
    options: RunOptions | None = None,
    checks: CheckOptions | None = None,
) -> list[Preflight]:
    """Every site's checks and plan (:meth:`Session.preflight`), the sites at once; in their order."""
    return parallel_map(
        lambda session: session.preflight(packages, strict=strict, options=options, checks=checks),
        list(sessions), max(1, len(sessions)), name="archfuse-site",
    )


def run_sites(
    sessions: Sequence[Session],
    preflights: Sequence[Preflight],
    *,
    cancel: threading.Event | None = None,
    options: RunOptions | None = None,
) -> list[SiteOutcome]:
    """Carry out each site's preflight as a run of its own (its lock, journal entry and tags), the
    packages read once for all of them (core.run.fanout); a site that fails does not stop the others.

    Outcomes in the sites' order; a site whose preflight failed is refused as :meth:`Session.run`
    refuses it, alone.
    """
    opts = options or RunOptions()
    outcomes: list[SiteOutcome | None] = [None] * len(sessions)
    unexpected: list[BaseException] = []
    with FanOut(len(sessions), opts, cancel) as fanout:

        def one(index: int) -> None:
            feed = fanout.feeds[index]
            try:
                summary = sessions[index].run(preflights[index], cancel=cancel, options=opts, feed=feed)
                outcomes[index] = SiteOutcome(summary)
            except ArchfuseError as err:
                outcomes[index] = SiteOutcome(None, err)
            except BaseException as err:  # a bug: raised in the caller's thread once every site ended
                unexpected.append(err)
                outcomes[index] = SiteOutcome(None, ArchfuseError(str(err)))
            finally:
                feed.leave()

        threads = [threading.Thread(target=one, args=(i,), name=f"archfuse-site-{i}") for i in range(len(sessions))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if unexpected:
        raise unexpected[0]
    return [o if o is not None else SiteOutcome(None, ArchfuseError("the site's run did not end")) for o in outcomes]
