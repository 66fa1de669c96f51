"""Preflight: every check that can stop an import, run before anything is written."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import events as ev
from core.errors import ArchfuseError
from core.package.model import PackageIndex
from core.run.plan import Plan
from core.targets.base import Target
from core.units import size_text

if TYPE_CHECKING:
    from core.charts.plan import ChartPlan

OK, WARN, FAIL = "ok", "warn", "fail"

#: kinds of checks whose failure ``--ignore-check KIND`` may turn into a warning. The target, its
#: registry spaces and fusion are not among them: without them there is no plan to run.
IGNORABLE = ("package", "version", "spool disk", "target disk", "vendor leftovers", "push rights", "charts",
             "chart destination")


def ignorable_kind(name: str) -> str:
    """The ignorable kind a check name belongs to (``package addon-...tar.gz`` -> ``package``), or ''."""
    for kind in IGNORABLE:
        if name == kind or name.startswith(kind + " "):
            return kind
    return ""


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    #: disk checks: bytes ``total``, ``used``, ``free`` and ``need`` (what the run may add), for gauges
    numbers: dict[str, int] | None = None
    #: what the check is about, when a renderer may act on it (e.g. the missing registry spaces)
    items: tuple[str, ...] = ()

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass
class Preflight:
    """The checks and, when the target could be read, the plan."""

    checks: list[Check] = field(default_factory=list)
    plan: Plan | None = None
    charts: list[ChartPlan] = field(default_factory=list)
    ignored: frozenset[str] = frozenset()  # kinds of failed checks the engineer chose to go past

    @property
    def failed(self) -> bool:
        return any(c.status == FAIL for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def add(self, check: Check, emit: ev.Emit) -> None:
        """Record a check (a failure the engineer chose to ignore becomes a warning) and emit it."""
        kind = ignorable_kind(check.name)
        if check.status == FAIL and kind in self.ignored:
            check = replace(
                check, status=WARN, detail=f"{check.detail} (failure ignored with --ignore-check {kind.replace(' ', '-')}; at your risk)"
            )
        self.checks.append(check)
        emit(ev.CheckDone(check.name, check.status, check.detail))

    def to_json(self) -> dict[str, Any]:
        plan = self.plan.to_json() if self.plan else {"images": [], "bytes_to_upload": 0, "counts": {}}
        return {
            "checks": [c.to_json() for c in self.checks],
            **plan,
            "charts": [c.to_json() for c in self.charts],
            "ok": not self.failed,
        }

    def render_text(self) -> str:
        lines = ["Checks:"]
        lines += [f"  [{c.status:>4}] {c.name}: {c.detail}" for c in self.checks]
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
            if self.charts:
                lines.append("")
                lines.append("Charts:")
                lines += [f"  {c.action:<11} {c.name}-{c.version} -> {c.destination}" for c in self.charts]
            counts = ", ".join(f"{n} {a}" for a, n in sorted(self.plan.counts().items()))
            lines.append("")
            lines.append(
                f"Totals: {len(self.plan.images)} images ({counts}), "
                f"{size_text(self.plan.bytes_to_upload)} to upload"
            )
        if self.failed:
            lines.append("")
            lines.append("Preflight failed: nothing was written. Fix the checks marked fail and run again.")
        return "\n".join(lines)


def check_packages(packages: list[PackageIndex], *, strict: bool = False) -> list[Check]:
    """Each package: readable (it was scanned), checksum state, arch as named."""
    out = []
    for package in packages:
        name = f"package {package.name}"
        if package.checksum == "mismatch":
            out.append(Check(name, FAIL if strict else WARN,
                             f"{package.name} does not match its .sha512sum; copy the file again from the source."))
        elif package.checksum == "missing":
            out.append(Check(name, WARN, f"{package.version} {package.arch}: no .sha512sum beside it, integrity not checked."))
        else:
            out.append(Check(name, OK, f"{package.version} {package.arch}, checksum ok, {len(package.images)} images, {len(package.charts)} charts."))
        for warning in package.warnings:
            out.append(Check(name, WARN, warning))
    return out


def check_spool_disk(spool_dir: Path | None, budget: int) -> Check:
    """Free space where blobs are spooled, against the spool budget."""
    where = spool_dir or Path(tempfile.gettempdir())
    try:
        numbers = measure_disk(where, budget)
    except OSError as err:
        return Check("spool disk", FAIL, f"{where} cannot be used for spooling: {err.strerror}; pass --spool-dir.")
    free = numbers["free"]
    need = size_text(budget)
    have = size_text(free)
    if free < budget:
        return Check("spool disk", WARN,
                     f"{where} has {have} free, less than the {need} spool budget; the run spools less and may be slower "
                     "(lower --spool-budget or use --spool-dir).", numbers)
    return Check("spool disk", OK, f"{where}: {have} free, the spool needs at most {need}.", numbers)


def measure_disk(where: Path, need: int) -> dict[str, int]:
    """A Check's ``numbers``: the file system holding ``where`` and the bytes a run may add there."""
    total, used, free = shutil.disk_usage(where)
    return {"total": total, "used": used, "free": free, "need": need}


def check_target(target: Target) -> Check:
    """The target answers and accepts the credentials."""
    try:
        target.ping()
    except ArchfuseError as err:
        return Check("target", FAIL, str(err))
    return Check("target", OK, f"{target.description} answers.")
