"""The preflight as a loop over check steps, each check with a kind; ``--ignore-check`` names kinds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core import events as ev
from core.checks.base import IGNORABLE, Check, CheckContext, CheckOptions, Preflight, ignorable_kind
from core.checks.preflight import STEPS, run_preflight
from core.errors import UsageError
from core.kinds import CheckKind, CheckStatus
from core.package.scan import scan_paths
from core.targets.layout import LayoutTarget
from tests.cli_driver import archfuse
from tests.test_import_registry import pkg


def test_a_failure_is_ignored_by_its_kind_whatever_its_display_name() -> None:
    shown: list[ev.Event] = []
    result = Preflight(ignored=frozenset({CheckKind.PUSH_RIGHTS}))
    result.add(Check(CheckKind.PUSH_RIGHTS, CheckStatus.FAIL, "denied.", label="registry rights"), shown.append)
    (check,) = result.checks
    assert check.name == "registry rights" and check.kind == CheckKind.PUSH_RIGHTS
    assert check.status == CheckStatus.WARN and "--ignore-check push-rights" in check.detail
    assert not result.failed
    (event,) = shown
    assert isinstance(event, ev.CheckDone)
    assert (event.name, event.status, event.detail) == ("registry rights", CheckStatus.WARN, check.detail)
    assert check.to_json() == {"name": "registry rights", "status": "warn", "detail": check.detail}


def test_a_failure_of_an_unignorable_kind_stays_a_failure() -> None:
    result = Preflight(ignored=frozenset({CheckKind.TARGET}))
    result.add(Check(CheckKind.TARGET, CheckStatus.FAIL, "no answer."), ev.discard)
    assert result.failed and result.failures[0].detail == "no answer."
    with pytest.raises(UsageError, match="--ignore-check target"):
        ignorable_kind("target")
    assert ignorable_kind("spool-disk") == CheckKind.SPOOL_DISK
    assert CheckKind.FUSION not in IGNORABLE and CheckKind.CHART_DESTINATION in IGNORABLE


def test_the_cli_refuses_to_ignore_an_unignorable_kind(demo_packages: list[Path], tmp_path: Path) -> None:
    result = archfuse("plan", pkg(demo_packages, "v0.11.0", "amd64"), "--registry", str(tmp_path / "layout"),
                      "--ignore-check", "target", state_dir=tmp_path / "state")
    assert result.code == 2 and "target" in result.err and "Traceback" not in result.err


def test_preflight_runs_the_steps_in_order_and_a_halting_step_stops_it(demo_packages: list[Path],
                                                                       tmp_path: Path) -> None:
    packages = scan_paths([pkg(demo_packages, "v0.11.0", "amd64")], state_dir=tmp_path / "state")
    target = LayoutTarget(tmp_path / "layout")
    context = CheckContext(packages, target, tmp_path / "state", options=CheckOptions())

    def coverage(context: CheckContext, result: Preflight) -> Iterator[Check]:
        assert result.plan is not None  # steps after the plan read it
        yield Check(CheckKind.ARCH_COVERAGE, CheckStatus.FAIL, "arm64 missing.")
        result.halted = True

    def never(context: CheckContext, result: Preflight) -> Iterator[Check]:
        raise AssertionError("a step after a halt ran")
        yield

    result = run_preflight(context, steps=(*STEPS, coverage, never))
    kinds = [c.kind for c in result.checks]
    assert kinds[0] == CheckKind.PACKAGE and kinds[-1] == CheckKind.ARCH_COVERAGE
    assert CheckKind.TARGET in kinds and CheckKind.PUSH_RIGHTS in kinds and result.plan is not None
    assert [c.kind for c in result.failures] == [CheckKind.ARCH_COVERAGE]
