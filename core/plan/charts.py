"""Charts in a plan and a run: relocate each chart version once, compare, push after the tags."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from core import events as ev
from core.advice import Advice
from core.charts.pipeline import PreparedChart, prepare_chart
from core.charts.protocol import ChartDestination, decide
from core.errors import ArchfuseError, ChartError, PackageError
from core.helpers.parallel import DEFAULT_JOBS, parallel_map
from core.helpers.versions import version_key
from core.jsonable import json_fields
from core.kinds import ChartAction
from core.package.chartstore import load_chart_files, store_chart_files
from core.package.model import ChartRecord, PackageIndex
from core.package.reader import ChartFiles, iter_package
from core.plan.images import LOOKUP_WORKERS
from core.plan.results import ChartResult


@dataclass
class ChartPlan:
    """One chart version: where it goes and what the destination holds now."""

    repo: str
    name: str
    version: str
    package: str
    destination: str = ""
    action: ChartAction = ChartAction.NEW  # until plan_charts has read the destination
    digest: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    prepared: PreparedChart | None = None
    #: other packages carrying this chart version with other content (not imported; see plan_charts)
    differs_in: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        names = ("repo", "name", "version", "destination", "action", "digest", "package", "warnings")
        return json_fields(self, names, if_set=("error", "differs_in"))


def chart_files(package: PackageIndex, state_dir: Path) -> dict[str, ChartFiles]:
    """Chart files of a package by bundle: from the chart store, else one pass over the package."""
    out: dict[str, ChartFiles] = {}
    for record in package.charts:
        files = load_chart_files(state_dir, record.files_key)
        if files is not None:
            out[record.bundle] = files
    if len(out) < len(package.charts):
        for item in iter_package(Path(package.path)):
            if isinstance(item, ChartFiles):
                out[item.bundle.member] = item
                store_chart_files(state_dir, item)
    return out


def plan_charts(
    packages: list[PackageIndex],
    destination: ChartDestination,
    *,
    host: str,
    prefix: str,
    state_dir: Path,
    force: bool = False,
) -> list[ChartPlan]:
    """Relocate every chart version of the packages and decide its action (writes nothing).

    One chart version is imported once, from the newest package carrying it. Another package
    carrying it with other content (an amd64 and an arm64 package that disagree) is named in the
    plan's warnings and ``differs_in``: only one content can be pushed. A chart that cannot be
    relocated raises :class:`ChartError` (exit 2) naming the package and bundle.
    """
    imported = frozenset(ref for package in packages for image in package.images for ref in image.refs)
    chosen: dict[tuple[str, str, str], tuple[PackageIndex, ChartRecord]] = {}
    others: dict[tuple[str, str, str], list[tuple[PackageIndex, ChartRecord]]] = {}
    # the newest package wins a chart version, as it wins an image tag
    for package in sorted(packages, key=lambda p: version_key(p.version), reverse=True):
        for record in package.charts:
            key = (record.repo, record.name, record.version)
            if key in chosen:
                others.setdefault(key, []).append((package, record))
            else:
                chosen[key] = (package, record)
    files_by_package: dict[str, dict[str, ChartFiles]] = {}

    def prepared(package: PackageIndex, record: ChartRecord) -> PreparedChart:
        if package.path not in files_by_package:
            files_by_package[package.path] = chart_files(package, state_dir)
        files = files_by_package[package.path].get(record.bundle)
        if files is None:
            raise PackageError(f"{package.name}: bundle {record.bundle} was not found on a second read.")
        try:  # a chart that cannot be relocated is bad input (exit 2), like any package error
            return prepare_chart(files, host=host, prefix=prefix, imported_refs=imported)
        except ChartError as err:
            raise ChartError(f"{package.name}: {err}") from None

    plans: list[ChartPlan] = []
    for key, (package, record) in sorted(chosen.items()):
        repo, name, version = key
        plan = ChartPlan(repo, name, version, package.path)
        try:
            plan.destination = destination.location(name, version, repo=repo)
        except ChartError as err:
            raise ChartError(f"{package.name}: {err}") from None
        plan.prepared = prepared(package, record)
        plan.digest = plan.prepared.digest
        plan.warnings = list(plan.prepared.warnings)
        for other, copy in others.get(key, []):
            if record.files_key and copy.files_key == record.files_key:
                continue  # the same chart files, hints and bundle: the same chart
            if prepared(other, copy).digest != plan.digest:
                plan.differs_in.append(other.path)
                plan.warnings.append(
                    f"{other.name} carries {name}-{version} with other content than {package.name}; "
                    f"one chart version holds one content, so the one from {package.name} is imported and "
                    f"the other is not: ask the vendor which is right"
                )
        plans.append(plan)

    def lookup(plan: ChartPlan) -> None:
        if plan.action == ChartAction.ERROR:
            return
        try:
            have = destination.existing(plan.name, plan.version, repo=plan.repo)
        except ArchfuseError as err:
            plan.action, plan.error = ChartAction.ERROR, str(err)
            return
        plan.action = decide(have, plan.digest, force)

    with ThreadPoolExecutor(LOOKUP_WORKERS) as pool:
        list(pool.map(lookup, plans))
    return plans


@dataclass(frozen=True)
class ChartJob:
    """A run's chart phase: the planned chart versions, where they go, whether conflicts are overwritten."""

    plans: list[ChartPlan]
    destination: ChartDestination
    force: bool = False


def planned(plan: ChartPlan) -> ChartResult:
    """A chart version as planned: what a run that never reached the charts reports for it."""
    return ChartResult(plan.repo, plan.name, plan.version, plan.destination, plan.action, plan.digest, plan.error)


def push_charts(job: ChartJob, *, emit: ev.Emit, jobs: int = DEFAULT_JOBS) -> list[ChartResult]:
    """Push the chart versions that are new (or overwritten when forced), ``jobs`` at once; the plans stay as they are."""

    def push(plan: ChartPlan) -> tuple[ChartAction, str]:
        if plan.action in (ChartAction.NEW, ChartAction.OVERWRITTEN) and plan.prepared is not None:
            try:
                pushed = job.destination.push(plan.name, plan.version, plan.prepared.tgz, repo=plan.repo, force=job.force)
            except ArchfuseError as err:
                return ChartAction.ERROR, str(err)
            return pushed, plan.error
        return plan.action, plan.error

    outcomes = parallel_map(push, job.plans, jobs, name="archfuse-chart")
    results: list[ChartResult] = []
    for index, plan in enumerate(job.plans):
        action, error = outcomes[index]
        for warning in plan.warnings:
            emit(ev.Warning(f"chart {plan.name}-{plan.version}: {warning}"))
        detail = Advice("other content is there; kept it ({force_charts} to overwrite)") if action == ChartAction.CONFLICT else ""
        result = ChartResult(plan.repo, plan.name, plan.version, plan.destination, action, plan.digest, error, detail)
        results.append(result)
        if action == ChartAction.ERROR:
            emit(ev.Failure(f"chart {plan.name}-{plan.version}", error))
        else:
            emit(ev.ChartDone(plan.name, plan.version, plan.destination, action, detail))
    return results


__all__ = ["ChartJob", "ChartPlan", "plan_charts", "push_charts"]
