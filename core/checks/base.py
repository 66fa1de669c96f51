"""What every preflight check shares: its result (:class:`Check`), what it may read
(:class:`CheckContext`), and the preflight those results build up (:class:`Preflight`).

A check is a function ``(context, preflight) -> Iterable[Check]`` (:data:`CheckStep`); the
preflight runs them in order (:mod:`core.checks.preflight`). A step may read what the steps
before it found (the plan, their failures) and set the plan or the chart plans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import events as ev
from core.advice import Advice
from core.errors import ArchfuseError, UsageError
from core.helpers.parallel import DEFAULT_JOBS
from core.kinds import CheckKind, CheckStatus, RegistryFlavour
from core.package.model import PackageIndex
from core.plan.images import Plan
from core.targets.base import Target
from core.terminal import printable_lines
from core.units import size_text

if TYPE_CHECKING:
    from core.charts.destinations import ChartDestination
    from core.config import TargetConfig
    from core.plan.charts import ChartPlan


@dataclass(frozen=True)
class Check:
    """One check's outcome: its kind, status and one sentence of detail with the fix."""

    kind: CheckKind
    status: CheckStatus
    detail: str
    #: disk checks: bytes ``total``, ``used``, ``free`` and ``need`` (what the run may add), for gauges
    numbers: dict[str, int] | None = None
    #: what the check is about, when a renderer may act on it (e.g. the missing registry spaces)
    items: tuple[str, ...] = ()
    #: the display name when it says more than the kind (``package addon-1.2-arm64.tar.gz``)
    label: str = ""

    @property
    def name(self) -> str:
        """The display name: the label, else the kind's words."""
        return self.label or self.kind.value

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


#: the kinds ``--ignore-check`` may name: a failure of another kind leaves no plan to run
IGNORABLE: tuple[CheckKind, ...] = tuple(kind for kind in CheckKind if kind.ignorable)


def ignorable_kind(flag: str) -> CheckKind:
    """The kind ``--ignore-check FLAG`` names (``spool-disk``); UsageError unless it may be ignored."""
    for kind in IGNORABLE:
        if flag in (kind.flag, kind.value):
            return kind
    raise UsageError(
        f"--ignore-check {flag}: not a kind of check that may be ignored.",
        hint="Use one of " + ", ".join(kind.flag for kind in IGNORABLE) + ".",
    )


@dataclass(frozen=True)
class CheckOptions:
    """Preflight choices beyond the target configuration."""

    #: remove the vendor installer's leftover work directories (Session.prepare, once the import is agreed to)
    clean_leftovers: bool = False
    registry_storage: Path | None = None  # where a registry on this node stores data (disk check)
    ignore: frozenset[CheckKind] = frozenset()  # kinds of failed checks to go past (CheckKind.ignorable)
    #: every package given, selected or not: the arch coverage check names one that fills a gap
    available: tuple[PackageIndex, ...] = ()


@dataclass(frozen=True)
class CheckContext:
    """What the checks read: the packages, the target, its configuration and this preflight's choices."""

    packages: list[PackageIndex]
    target: Target
    state_dir: Path
    prefix: str = ""
    config: TargetConfig | None = None
    charts: ChartDestination | None = None
    force_charts: bool = False
    secrets: tuple[str, ...] = ()
    strict: bool = False  # a checksum mismatch fails instead of warning
    spool_dir: Path | None = None
    spool_budget: int = 256 << 20
    jobs: int = DEFAULT_JOBS  # --jobs: the plan's reads go core.helpers.parallel.round_trips(jobs) at once
    #: digest -> a repository of the target holding the blob (uploaded while scanning, core.run.stage)
    sources: dict[str, str] = field(default_factory=dict)
    options: CheckOptions = field(default_factory=CheckOptions)


@dataclass
class Preflight:
    """The checks and, when the target could be read, the plan."""

    checks: list[Check] = field(default_factory=list)
    plan: Plan | None = None
    charts: list[ChartPlan] = field(default_factory=list)
    ignored: frozenset[CheckKind] = frozenset()  # kinds of failed checks the engineer chose to go past
    #: set by a step whose failure makes the later checks meaningless (the plan could not be read)
    halted: bool = False
    #: what answers at the registry, when the flavour check could tell (the registry rules read it)
    flavour: RegistryFlavour | None = None
    #: what the import changes once agreed to (core.checks.preflight.prepare), as the checks found it:
    #: the registry spaces to create (``create_spaces``), the leftover directories to remove, with sizes
    spaces_to_create: tuple[str, ...] = ()
    leftovers_to_remove: tuple[tuple[Path, int], ...] = ()
    #: what the checks read, to check again once the spaces exist
    context: CheckContext | None = field(default=None, repr=False, compare=False)

    @property
    def pending(self) -> bool:
        """True when the import changes something before its run (spaces, leftovers) once agreed to."""
        return bool(self.spaces_to_create or self.leftovers_to_remove)

    @property
    def failed(self) -> bool:
        return any(c.status == CheckStatus.FAIL for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == CheckStatus.FAIL]

    def failed_any(self, *kinds: CheckKind) -> bool:
        """True when a check of one of ``kinds`` failed."""
        return any(c.kind in kinds for c in self.failures)

    def add(self, check: Check, emit: ev.Emit) -> None:
        """Record a check (a failure the engineer chose to ignore becomes a warning) and emit it."""
        if check.status == CheckStatus.FAIL and check.kind.ignorable and check.kind in self.ignored:
            check = replace(
                check,
                status=CheckStatus.WARN,
                detail=Advice(check.detail)
                + Advice(f" (failure ignored with {{ignore_check}} {check.kind.flag}; at your risk)"),
            )
        self.checks.append(check)
        emit(ev.CheckDone(check.name, check.status, check.detail, check.kind))

    def to_json(self) -> dict[str, Any]:
        plan = self.plan.to_json() if self.plan else {"images": [], "bytes_to_upload": 0, "counts": {}}
        return {
            "checks": [c.to_json() for c in self.checks],
            **plan,
            "charts": [c.to_json() for c in self.charts],
            "ok": not self.failed,
        }

    def render_text(self, *, checks: bool = True) -> str:
        """The checks, the plan and the totals as text; ``checks=False``: the checks were each shown
        as they ran, so they are counted in one line, not listed again."""
        if checks:
            lines = ["Checks:"]
            lines += [f"  [{c.status:>4}] {c.name}: {c.detail}" for c in self.checks]
        else:
            counts = ", ".join(
                f"{n} {status}" for status in CheckStatus if (n := sum(c.status == status for c in self.checks))
            )
            lines = [f"Checks: {counts or 'none'} (each shown above)."]
        if self.plan:
            lines.append("")
            lines.append("Images:")
            for image in self.plan.images:
                before = ",".join(image.platforms_before) or "-"
                after = ",".join(image.platforms_after) or "-"
                lines.append(
                    f"  {image.action:<11} {image.destination} {image.platform}  [{before}] -> [{after}]"
                    + (f"  {size_text(image.upload_bytes)}" if image.upload_bytes else "")
                )
                if image.error:
                    lines.append(f"      error: {image.error}")
            if self.charts:
                lines.append("")
                lines.append("Charts:")
                for chart in self.charts:  # every warning the JSON plan carries is read here too
                    lines.append(f"  {chart.action:<11} {chart.name}-{chart.version} -> {chart.destination}")
                    lines += [f"      warning: {warning}" for warning in chart.warnings]
                    if chart.error:
                        lines.append(f"      error: {chart.error}")
            counts = ", ".join(f"{n} {a}" for a, n in sorted(self.plan.counts().items()))
            lines.append("")
            lines.append(
                f"Totals: {len(self.plan.images)} images ({counts}), "
                f"{size_text(self.plan.bytes_to_upload)} to upload"
            )
        if self.failed:
            lines.append("")
            lines.append("Preflight failed: no tag moved. Fix the checks marked fail and run again.")
        return printable_lines(lines)


#: one check: reads the context and the preflight so far, yields its results (added and emitted in order)
CheckStep = Callable[[CheckContext, Preflight], Iterable[Check]]


def check_answers(kind: CheckKind, ping: Callable[[], None], description: str) -> Check:
    """``ping()`` a server: OK, it answers; or FAIL with the error's sentence."""
    try:
        ping()
    except ArchfuseError as err:
        return Check(kind, CheckStatus.FAIL, str(err))
    return Check(kind, CheckStatus.OK, f"{description} answers.")


def listed(items: Iterable[str], limit: int = 10) -> str:
    """``a, b, c`` — at most ``limit`` names, then how many more."""
    names = list(items)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _site_totals(preflight: Preflight) -> dict[str, Any]:
    """One site's totals: its checks by status, images by action, charts, bytes to upload."""
    plan = preflight.plan
    return {
        "checks": {status.value: sum(c.status == status for c in preflight.checks) for status in CheckStatus},
        "images": len(plan.images) if plan else 0,
        "counts": plan.counts() if plan else {},
        "charts": len(preflight.charts),
        "bytes_to_upload": plan.bytes_to_upload if plan else 0,
    }


def sites_json(sites: Sequence[tuple[str, Preflight]]) -> dict[str, Any]:
    """``archfuse plan`` to several sites: each site's checks, plan and totals, by name."""
    return {
        "sites": [{"name": name, **preflight.to_json(), "totals": _site_totals(preflight)} for name, preflight in sites],
        "ok": not any(p.failed for _name, p in sites),
    }


def render_sites(sites: Sequence[tuple[str, Preflight]]) -> str:
    """The checks of several sites as one table (a row per check, a column per site), then each
    site's totals."""
    rows: dict[str, dict[str, str]] = {}
    for name, preflight in sites:
        for check in preflight.checks:
            rows.setdefault(check.name, {})[name] = str(check.status)
    names = [name for name, _ in sites]
    first = max([len("check"), *(len(r) for r in rows)])
    widths = [max(len(n), 4) for n in names]
    lines = ["  ".join([f"{'check':<{first}}", *(f"{n:<{w}}" for n, w in zip(names, widths))]).rstrip()]
    for row, cells in rows.items():
        lines.append("  ".join([f"{row:<{first}}", *(f"{cells.get(n, '-'):<{w}}" for n, w in zip(names, widths))])
                     .rstrip())
    lines.append("")
    lines.append("Totals per site:")
    for name, preflight in sites:
        totals = _site_totals(preflight)
        checks = ", ".join(f"{n} {status}" for status, n in totals["checks"].items() if n)
        counts = ", ".join(f"{n} {a}" for a, n in sorted(totals["counts"].items()))
        lines.append(f"  {name}: {totals['images']} images ({counts or 'none'}), {totals['charts']} charts, "
                     f"{size_text(totals['bytes_to_upload'])} to upload; checks: {checks or 'none'}"
                     + ("; FAILED" if preflight.failed else ""))
    failed = [name for name, p in sites if p.failed]
    if failed:
        lines.append("")
        lines.append(f"Preflight failed on {', '.join(failed)}: no tag moved there. Fix the checks marked fail "
                     "and run again.")
    return printable_lines(lines)
