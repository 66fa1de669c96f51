"""Checks of the charts: the chart destination answers, and every chart version can be imported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from core.advice import Advice
from core.charts.destinations import ChartDestination
from core.charts.oci import OciChartDestination
from core.checks.base import Check, CheckContext, Preflight, check_answers
from core.kinds import ChartAction, CheckKind, CheckStatus
from core.plan.charts import ChartPlan, plan_charts


def check_chart_destination(destination: ChartDestination) -> Check:
    """The chart destination answers and takes the credentials."""
    return check_answers(CheckKind.CHART_DESTINATION, destination.ping, destination.describe())


def check_chart_plans(plans: list[ChartPlan], destination: ChartDestination) -> Check:
    """Fail when a chart cannot be imported; warn when packages disagree on a chart version, or
    versions differ from what the destination holds."""
    bad = [c for c in plans if c.action == ChartAction.ERROR]
    conflicts = [c for c in plans if c.action == ChartAction.CONFLICT]
    split = [c for c in plans if c.differs_in]
    if bad:
        return Check(CheckKind.CHARTS, CheckStatus.FAIL, f"{len(bad)} chart(s) cannot be imported: {bad[0].error}")
    if split:
        first = split[0]
        others = ", ".join(Path(p).name for p in first.differs_in)
        return Check(
            CheckKind.CHARTS,
            CheckStatus.WARN,
            f"{len(split)} chart version(s) have other content in another package: {first.name}-{first.version} "
            f"differs between {Path(first.package).name} (imported) and {others} (not imported); "
            "ask the vendor which is right" + (f"; also {len(conflicts)} differ from the destination" if conflicts else "") + ".",
        )
    if conflicts:
        names = ", ".join(f"{c.name}-{c.version}" for c in conflicts[:5])
        return Check(
            CheckKind.CHARTS,
            CheckStatus.WARN,
            Advice(f"{len(conflicts)} chart version(s) differ from what the destination holds ({names}); "
                   "they are kept: {force_charts} to overwrite them."),
        )
    return Check(CheckKind.CHARTS, CheckStatus.OK, f"{destination.describe()}: {len(plans)} chart versions planned.")


def charts_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """When the packages carry charts: the destination answers, then the chart plan."""
    destination = context.charts
    if destination is None or not any(p.charts for p in context.packages):
        return
    if isinstance(destination, OciChartDestination) and destination.target is context.target \
            and result.failed_any(CheckKind.TARGET):
        return  # charts in the image target, which did not answer: said once, by the target's check
    reached = check_chart_destination(destination)
    if reached.status == CheckStatus.FAIL:
        yield reached
        return
    result.charts = plan_charts(
        context.packages,
        destination,
        host=context.target.host,
        prefix=context.prefix,
        state_dir=context.state_dir,
        force=context.force_charts,
    )
    yield check_chart_plans(result.charts, destination)
