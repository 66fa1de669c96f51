"""Preflight: every check that can stop an import, run in order before anything is written.

To add a check: write a step ``(context, preflight) -> Iterable[Check]`` in the module of its side
(:mod:`core.checks.packages`, ``disks``, ``leftovers``, ``target``, ``spaces``, ``rules``, ``fusion``,
``coverage``, ``charts``), give its results a :class:`core.kinds.CheckKind` (a new member there when none fits;
``--ignore-check`` offers every ignorable kind), and put the step in :data:`STEPS`.
"""

from __future__ import annotations

from dataclasses import replace

from core import events as ev
from core.checks.base import Check, CheckContext, CheckOptions, CheckStep, Preflight
from core.checks.charts import charts_step
from core.checks.coverage import coverage_step
from core.checks.disks import spool_disk_step, target_disk_step
from core.checks.fusion import fusion_step, plan_step
from core.checks.leftovers import clean_vendor_leftovers, leftovers_step
from core.checks.packages import packages_step
from core.checks.rules import rules_step
from core.checks.spaces import create_missing_spaces, spaces_step
from core.checks.target import push_step, target_step
from core.kinds import CheckStatus

__all__ = ["STEPS", "Check", "CheckContext", "CheckOptions", "Preflight", "prepare", "run_preflight"]

#: the checks in the order they run and are shown; later steps read what earlier ones found
STEPS: tuple[CheckStep, ...] = (
    packages_step,
    spool_disk_step,
    leftovers_step,
    target_step,
    spaces_step,
    plan_step,
    push_step,
    rules_step,
    fusion_step,
    coverage_step,
    target_disk_step,
    charts_step,
)


def run_preflight(context: CheckContext, emit: ev.Emit = ev.discard, steps: tuple[CheckStep, ...] = STEPS) -> Preflight:
    """Run ``steps`` in order, adding (and emitting) each check, until one halts the preflight."""
    result = Preflight(ignored=context.options.ignore, context=context)
    for step in steps:
        for check in step(context, result):
            result.add(check, emit)
        if result.halted:
            break
    return result


def prepare(preflight: Preflight, emit: ev.Emit = ev.discard) -> Preflight:
    """What the import changes before its run, once the engineer agreed: remove the leftover work
    directories and create the registry spaces the checks found (each said as a check).

    When spaces were created every check runs again (the plan can read them now) and that preflight
    is returned, the actions' checks first; else ``preflight`` with them added. Nothing to do: ``preflight``.
    """
    context = preflight.context
    if context is None or not preflight.pending:
        return preflight
    done: list[Check] = []
    if preflight.leftovers_to_remove:
        done.append(clean_vendor_leftovers(list(preflight.leftovers_to_remove)))
    created: list[Check] = []
    if preflight.spaces_to_create and context.config is not None:
        created = create_missing_spaces(context.config, preflight.spaces_to_create)
    done += created
    preflight.spaces_to_create, preflight.leftovers_to_remove = (), ()
    for check in done:
        preflight.add(check, emit)
    if not created or any(c.status == CheckStatus.FAIL for c in created):
        return preflight
    checked = run_preflight(replace(context, options=replace(context.options, clean_leftovers=False)), emit)
    checked.checks[:0] = preflight.checks[-len(done):]
    return checked
