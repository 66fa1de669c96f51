"""The plan and its fusion: the target's tags can be read, and every image fuses with what they hold."""

from __future__ import annotations

from collections.abc import Iterator

from core.checks.base import Check, CheckContext, Preflight
from core.errors import SpaceMissing
from core.kinds import CheckKind, CheckStatus, ImageAction
from core.plan.images import build_plan


def plan_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """Build the plan once the target and its spaces passed; a missing space halts the preflight."""
    if result.failed_any(CheckKind.TARGET, CheckKind.REGISTRY_SPACES):
        return
    if result.spaces_to_create:  # a space that does not exist yet cannot be read
        result.halted = True
        yield Check(
            CheckKind.REGISTRY_SPACES,
            CheckStatus.WARN,
            "The plan is made once the missing registry spaces are created, when the import is agreed to.",
        )
        return
    try:
        result.plan = build_plan(
            context.packages, context.target, prefix=context.prefix, jobs=context.jobs, sources=context.sources
        )
    except SpaceMissing as err:
        result.halted = True
        yield Check(CheckKind.REGISTRY_SPACES, CheckStatus.FAIL, str(err))


def fusion_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """Fail on the first image that cannot be fused with what its tag holds."""
    errors = [i for i in result.plan.images if i.action == ImageAction.ERROR] if result.plan else []
    if errors:
        yield Check(CheckKind.FUSION, CheckStatus.FAIL, f"{errors[0].destination}: {errors[0].error}")
    repairs = [i for i in result.plan.images if i.action == ImageAction.REPAIR] if result.plan else []
    if repairs:
        first = repairs[0]
        yield Check(
            CheckKind.FUSION,
            CheckStatus.WARN,
            f"{len(repairs)} image(s) are named by their tag's index but missing from the registry (dangling "
            f"entries), e.g. {first.destination} {first.platform} ({first.digest}); the import stores them again "
            "from the packages.",
        )
