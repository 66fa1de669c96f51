"""A session: one engineer's work against one target — scan, check, plan, run, verify.

The CLI and the TUI both drive this facade, so they render the same engine events.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import events as ev
from core.chartplan import ChartPlan, plan_charts
from core.charts.destinations import ChartDestination
from core.engine import ImportRun, RunOptions, RunSummary
from core.errors import ArchfuseError, PreflightFailed
from core.package.model import PackageIndex
from core.plan import build_plan
from core.preflight import FAIL, OK, WARN, Check, Preflight, check_packages, check_spool_disk, check_target
from core.state import state_dir as default_state_dir
from core.targets.base import Target
from core.verify import ImageCheck, verify_images


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


class Session:
    """Scan, preflight, run and verify against one target."""

    def __init__(
        self,
        target: Target,
        *,
        prefix: str = "",
        state_dir: Path | str | None = None,
        emit: ev.Emit = ev.discard,
        charts: ChartDestination | None = None,
        force_charts: bool = False,
    ) -> None:
        self.target = target
        self.charts = charts
        self.force_charts = force_charts
        self.prefix = prefix
        self.state_dir = default_state_dir(state_dir)
        self.emit = emit

    def scan(self, paths: list[Path], *, strict: bool = False, rescan: bool = False) -> list[PackageIndex]:
        """Scan packages (cached in the state dir unless ``rescan``)."""
        from core.package.scan import scan_paths

        return scan_paths(paths, state_dir=self.state_dir, emit=self.emit, strict=strict, use_cache=not rescan)

    def preflight(
        self,
        packages: list[PackageIndex],
        *,
        strict: bool = False,
        options: RunOptions | None = None,
    ) -> Preflight:
        """Every check, then the plan when the target could be read. Writes nothing."""
        opts = options or RunOptions()
        result = Preflight()
        for check in check_packages(packages, strict=strict):
            result.add(check, self.emit)
        result.add(check_spool_disk(opts.spool_dir, opts.spool_budget), self.emit)
        target_check = check_target(self.target)
        result.add(target_check, self.emit)
        if target_check.status != FAIL:
            result.plan = build_plan(packages, self.target, prefix=self.prefix)
            errors = [i for i in result.plan.images if i.action == "error"]
            if errors:
                result.add(Check("fusion", FAIL, f"{errors[0].destination}: {errors[0].error}"), self.emit)
        if self.charts is not None and any(p.charts for p in packages):
            self._plan_charts(packages, result)
        return result

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
        run = ImportRun(
            preflight.plan,
            self.target,
            options=options,
            emit=self.emit,
            cancel=cancel,
            charts=preflight.charts,
            chart_destination=self.charts,
            force_charts=self.force_charts,
        )
        return run.execute()

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
        self.target.close()
