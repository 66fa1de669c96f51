"""Checks of the target: it answers (address, TLS, credentials), and the credentials may push."""

from __future__ import annotations

from collections.abc import Iterator

from core.checks.base import Check, CheckContext, Preflight, check_answers
from core.errors import ArchfuseError
from core.kinds import CheckKind, CheckStatus, ImageAction
from core.plan.images import Plan
from core.targets.base import Target


def check_target(target: Target) -> Check:
    """The target answers and accepts the credentials."""
    return check_answers(CheckKind.TARGET, target.ping, target.description)


def check_push(target: Target, plan: Plan) -> Check:
    """The credentials may push: one upload opened and cancelled per registry space written."""
    kind = CheckKind.PUSH_RIGHTS
    writes = sorted({i.repository for i in plan.images if i.action not in (ImageAction.UNCHANGED, ImageAction.ERROR)})
    if not writes:
        return Check(kind, CheckStatus.OK, "nothing to push")
    try:
        return Check(kind, CheckStatus.OK, target.check_push(writes))
    except ArchfuseError as err:
        return Check(kind, CheckStatus.FAIL, str(err))


def target_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """The target answers."""
    yield check_target(context.target)


def push_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """Push rights for every registry space the plan writes into."""
    if result.plan is not None:
        yield check_push(context.target, result.plan)
