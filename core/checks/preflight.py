"""Preflight: every check that can stop an import, run in order before anything is written.

To add a check: write a step ``(context, preflight) -> Iterable[Check]`` in the module of its side
(:mod:`core.checks.packages`, ``disks``, ``leftovers``, ``target``, ``spaces``, ``fusion``,
``coverage``, ``charts``), give its results a :class:`core.kinds.CheckKind` (a new member there when none fits;
``--ignore-check`` offers every ignorable kind), and put the step in :data:`STEPS`.
"""

from __future__ import annotations

from core import events as ev
from core.checks.base import Check, CheckContext, CheckOptions, CheckStep, Preflight
from core.checks.charts import charts_step
from core.checks.coverage import coverage_step
from core.checks.disks import spool_disk_step, target_disk_step
from core.checks.fusion import fusion_step, plan_step
from core.checks.leftovers import leftovers_step
from core.checks.packages import packages_step
from core.checks.spaces import spaces_step
from core.checks.target import push_step, target_step

__all__ = ["STEPS", "Check", "CheckContext", "CheckOptions", "Preflight", "run_preflight"]

#: the checks in the order they run and are shown; later steps read what earlier ones found
STEPS: tuple[CheckStep, ...] = (
    packages_step,
    spool_disk_step,
    leftovers_step,
    target_step,
    spaces_step,
    plan_step,
    push_step,
    fusion_step,
    coverage_step,
    target_disk_step,
    charts_step,
)


def run_preflight(context: CheckContext, emit: ev.Emit = ev.discard, steps: tuple[CheckStep, ...] = STEPS) -> Preflight:
    """Run ``steps`` in order, adding (and emitting) each check, until one halts the preflight."""
    result = Preflight(ignored=context.options.ignore)
    for step in steps:
        for check in step(context, result):
            result.add(check, emit)
        if result.halted:
            break
    return result
