"""A session: one engineer's work against one target — scan, check, plan, run, verify.

The CLI and the TUI both drive this facade, so they render the same engine events.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import events as ev
from core.charts.destinations import ChartDestination
from core.charts.plan import ChartJob, ChartPlan, plan_charts
from core.checks.environment import (
    check_disk_for_target,
    check_flavour,
    check_spaces,
    check_vendor_leftovers,
    clean_vendor_leftovers,
    find_vendor_leftovers,
)
from core.checks.preflight import (
    FAIL,
    OK,
    WARN,
    Check,
    Preflight,
    check_packages,
    check_spool_disk,
    check_target,
)
from core.config import TargetConfig
from core.errors import ArchfuseError, PreflightFailed, SpaceMissing
from core.oci.refs import space_of
from core.package.model import PackageIndex
from core.record.journal import Journal, RunRecord, TagRecord
from core.record.state import state_dir as default_state_dir
from core.registry.harbor import harbor_client_for
from core.run.engine import RunOptions, RunSummary
from core.run.lifecycle import journaled_run
from core.run.plan import Plan, build_plan, group_images, version_key
from core.run.rollback import RollbackSummary, rollback_run
from core.run.verify import ImageCheck, verify_images
from core.targets.base import Target
from core.targets.connect import open_chart_destination, open_target


@dataclass(frozen=True)
class ChartCheck:
    name: str
    version: str
    destination: str
    status: str  # ok | missing | other-content | error
    detail: str = ""

    @classmethod
    def of(cls, plan: ChartPlan) -> ChartCheck:
        """Verify a chart from its plan: the destination holds exactly the relocated chart."""
        status = {"unchanged": "ok", "new": "missing", "conflict": "other-content"}.get(plan.action, "error")
        detail = {
            "missing": f"{plan.destination} does not exist",
            "other-content": f"{plan.destination} holds other content than the package's chart",
            "error": plan.error,
        }.get(status, "")
        return cls(plan.name, plan.version, plan.destination, status, detail)

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "destination": self.destination,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass
class VerifyReport:
    images: list[ImageCheck] = field(default_factory=list)
    charts: list[ChartCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.status == "ok" for i in self.images) and all(c.status == "ok" for c in self.charts)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "images": [i.to_json() for i in self.images],
            "charts": [c.to_json() for c in self.charts],
        }

    def render_text(self) -> str:
        lines = [f"  [{i.status}] {i.destination} {i.platform}" + (f": {i.detail}" if i.detail else "") for i in self.images]
        lines += [f"  [{c.status}] chart {c.name}-{c.version}" + (f": {c.detail}" if c.detail else "") for c in self.charts]
        bad = sum(1 for i in self.images if i.status != "ok") + sum(1 for c in self.charts if c.status != "ok")
        total = len(self.images) + len(self.charts)
        lines.append(f"verify: {total - bad}/{total} ok" + ("" if not bad else "; run the import again to complete it."))
        return "\n".join(lines)


@dataclass(frozen=True)
class CheckOptions:
    """Preflight choices beyond the target configuration."""

    dry_run: bool = False  # ``archfuse plan``: report what would be created, create nothing
    clean_leftovers: bool = False  # remove the vendor installer's leftover work directories
    registry_storage: Path | None = None  # where a registry on this node stores data (disk check)
    ignore: frozenset[str] = frozenset()  # kinds of failed checks to go past (core.checks.preflight.IGNORABLE)


class Workspace:
    """What needs no target: packages scanned (cached in the state dir) and the journal's runs."""

    def __init__(self, *, state_dir: Path | str | None = None, emit: ev.Emit = ev.discard) -> None:
        self.state_dir = default_state_dir(state_dir)
        self.emit = emit

    def scan(self, paths: list[Path], *, strict: bool = False, rescan: bool = False) -> list[PackageIndex]:
        """Scan packages; the cache in the state dir answers unless ``rescan`` (which refreshes it)."""
        from core.package.scan import scan_paths

        return scan_paths(paths, state_dir=self.state_dir, emit=self.emit, strict=strict, use_cache=not rescan)

    def history(self, limit: int = 50) -> list[RunRecord]:
        """Runs in the journal, newest first."""
        with Journal(self.state_dir) as journal:
            return journal.runs(limit)

    def find_run(self, run_id: str) -> tuple[RunRecord, list[TagRecord]]:
        """A run of the journal (by id or unique prefix) and the tags it wrote; UsageError if none."""
        with Journal(self.state_dir) as journal:
            record = journal.run(run_id)
            return record, journal.tags_of(record.id)


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
        self.charts = charts
        self.force_charts = force_charts
        self.prefix = config.prefix

    def preflight(
        self,
        packages: list[PackageIndex],
        *,
        strict: bool = False,
        options: RunOptions | None = None,
        checks: CheckOptions | None = None,
    ) -> Preflight:
        """Every check, then the plan when the target could be read.

        Writes nothing, except what ``checks`` asks for before an import: missing registry spaces
        created (``create_spaces``) and the vendor's leftover work directories removed.
        """
        opts = options or RunOptions()
        more = checks or CheckOptions()
        result = Preflight(ignored=more.ignore)
        for check in check_packages(packages, strict=strict):
            result.add(check, self.emit)
        downgrade = self._downgrade_check(packages)
        if downgrade is not None:
            result.add(downgrade, self.emit)
        result.add(check_spool_disk(opts.spool_dir, opts.spool_budget), self.emit)
        found = find_vendor_leftovers([Path(p.path) for p in packages])
        leftovers = clean_vendor_leftovers(found) if more.clean_leftovers else check_vendor_leftovers(found)
        result.add(leftovers, self.emit)
        target_check = check_target(self.target)
        result.add(target_check, self.emit)
        if target_check.status != FAIL and self._spaces_ok(packages, result, more):
            try:
                result.plan = build_plan(packages, self.target, prefix=self.prefix)
            except SpaceMissing as err:
                creating = more.dry_run and self.config is not None and self.config.create_spaces
                result.add(
                    Check(
                        "registry spaces",
                        WARN if creating else FAIL,
                        f"{err} The import creates it first; the plan cannot read a space that does not exist yet."
                        if creating
                        else str(err),
                    ),
                    self.emit,
                )
                return result
            result.add(self._push_check(result.plan), self.emit)
            errors = [i for i in result.plan.images if i.action == "error"]
            if errors:
                result.add(Check("fusion", FAIL, f"{errors[0].destination}: {errors[0].error}"), self.emit)
            storage = self.config.layout_path if self.config and self.config.layout_path else more.registry_storage
            if storage is not None:
                result.add(check_disk_for_target(storage, result.plan.bytes_to_upload), self.emit)
        if self.charts is not None and any(p.charts for p in packages):
            self._plan_charts(packages, result)
        return result

    def _push_check(self, plan: Plan) -> Check:
        """The credentials may push: one upload opened and cancelled per registry space written."""
        check_push = getattr(self.target, "check_push", None)
        writes = sorted({i.repository for i in plan.images if i.action not in ("unchanged", "error")})
        if check_push is None or not writes:
            return Check("push rights", OK, "nothing to push" if not writes else f"{self.target.description} is writable.")
        spaces: dict[str, str] = {}
        for repository in writes:
            spaces.setdefault(space_of(repository), repository)
        try:
            for repository in spaces.values():
                check_push(repository)
        except ArchfuseError as err:
            return Check("push rights", FAIL, str(err))
        return Check("push rights", OK, f"may push to {', '.join(sorted(spaces))} on {self.target.description}.")

    def _spaces_ok(self, packages: list[PackageIndex], result: Preflight, more: CheckOptions) -> bool:
        """On Harbor, every project the destinations need exists (or is created when asked)."""
        harbor = harbor_client_for(self.config) if self.config is not None else None
        if harbor is None:
            return True
        with harbor:
            flavour, check = check_flavour(harbor)
            result.add(check, self.emit)
            repos = {t.repository for t in group_images(packages, self.prefix, self.target.host)}
            chart_repository = getattr(self.charts, "repository", None)  # OCI charts land in this registry too
            if chart_repository is not None and getattr(self.charts, "target", None) is self.target:
                repos |= {chart_repository(c.name, c.repo) for p in packages for c in p.charts}
            ok = True
            for space in check_spaces(
                repos,
                flavour,
                harbor,
                create=self.config.create_spaces if self.config else False,
                public=(self.config.space_visibility if self.config else "public") == "public",
                dry_run=more.dry_run,
            ):
                result.add(space, self.emit)
                ok = ok and space.status != FAIL
        return ok

    def _downgrade_check(self, packages: list[PackageIndex]) -> Check | None:
        """Warn when the packages are older than the last addon version imported into this target."""
        with Journal(self.state_dir, secrets=self.secrets) as journal:
            last = journal.last_version_imported(self.target.description)
        if not last or not packages:
            return None
        newest = max((p.version for p in packages), key=version_key)
        if version_key(newest) < version_key(last):
            return Check(
                "version", WARN,
                f"{newest} is older than {last}, the last version imported into {self.target.description}: "
                "this is a downgrade. Tags it carries will move back to the older images.",
            )
        return Check("version", OK, f"{newest}; last imported here: {last}.")

    def _plan_charts(self, packages: list[PackageIndex], result: Preflight) -> None:
        assert self.charts is not None
        try:
            self.charts.ping()
        except ArchfuseError as err:
            result.add(Check("chart destination", FAIL, str(err)), self.emit)
            return
        result.charts = plan_charts(
            packages,
            self.charts,
            host=self.target.host,
            prefix=self.prefix,
            state_dir=self.state_dir,
            force=self.force_charts,
        )
        bad = [c for c in result.charts if c.action == "error"]
        conflicts = [c for c in result.charts if c.action == "conflict"]
        if bad:
            result.add(Check("charts", FAIL, f"{len(bad)} chart(s) cannot be imported: {bad[0].error}"), self.emit)
        elif conflicts:
            names = ", ".join(f"{c.name}-{c.version}" for c in conflicts[:5])
            result.add(
                Check("charts", WARN, f"{len(conflicts)} chart version(s) differ from what the destination holds "
                      f"({names}); they are kept unless you pass --force-charts."),
                self.emit,
            )
        else:
            result.add(Check("charts", OK, f"{self.charts.describe()}: {len(result.charts)} chart versions planned."), self.emit)

    def run(
        self,
        preflight: Preflight,
        *,
        cancel: threading.Event | None = None,
        options: RunOptions | None = None,
    ) -> RunSummary:
        """Carry out a preflight's plan; refuses when a check failed."""
        if preflight.failed or preflight.plan is None:
            first = preflight.failures[0] if preflight.failures else None
            raise PreflightFailed(
                f"Preflight failed ({first.name}: {first.detail})" if first else "Preflight did not produce a plan.",
                hint="Nothing was written.",
            )
        opts = options or RunOptions()
        settings = {
            "prefix": self.prefix,
            "spool_budget": opts.spool_budget,
            "workers": opts.workers,
            "force_charts": self.force_charts,
        }
        charts = ChartJob(preflight.charts, self.charts, self.force_charts) if self.charts is not None else None
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
        )

    def rollback(self, run_id: str, *, cancel: threading.Event | None = None) -> RollbackSummary:
        """Put back the tags a run changed, where they still point where it left them."""
        with Journal(self.state_dir, secrets=self.secrets) as journal:
            return rollback_run(journal, run_id, self.target, emit=self.emit, cancel=cancel)

    def verify(self, packages: list[PackageIndex]) -> VerifyReport:
        """Check the target holds every image (and platform) of the packages."""
        report = VerifyReport(images=verify_images(packages, self.target, prefix=self.prefix))
        if self.charts is not None and any(p.charts for p in packages):
            plans = plan_charts(
                packages, self.charts, host=self.target.host, prefix=self.prefix, state_dir=self.state_dir
            )
            report.charts = [ChartCheck.of(plan) for plan in plans]
        return report

    def close(self) -> None:
        """Close the target's connections."""
        self.target.close()


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
