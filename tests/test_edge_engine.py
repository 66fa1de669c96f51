"""Engine edge cases on a layout target with hand-made package indexes."""

from __future__ import annotations

import threading
from typing import Any

from core import events as ev
from core.plan.charts import ChartJob, ChartPlan
from core.plan.images import build_plan
from core.run.engine import ImportRun
from core.targets.layout import LayoutTarget
from tests.fixtures.imports import make_package


class _NoPush:
    """A chart destination the cancelled run must not reach."""

    def push(self, *args: Any, **kwargs: Any) -> str:
        raise AssertionError("a chart was pushed after the cancel")


def test_cancel_during_the_tag_phase_finishes_the_tags_and_says_so(layout: LayoutTarget) -> None:
    package = make_package(layout, "v1.0.0", "amd64", refs=("vendor.example/addon/a:1.0", "vendor.example/addon/b:1.0"))
    cancel = threading.Event()

    def emit(event: ev.Event) -> None:
        if isinstance(event, ev.ImageDone):
            cancel.set()  # Escape pressed while the tags move

    chart = ChartPlan("addon", "app", "1.0.0", package.path, action="new")
    charts = ChartJob([chart], _NoPush())
    run = ImportRun(build_plan([package], layout), layout, emit=emit, cancel=cancel, charts=charts)
    summary = run.execute()
    assert summary.status == "cancelled"
    assert {r.name for r in layout.refs()} == {"addon/a:1.0", "addon/b:1.0"}  # the tag phase is not cut short
    assert "before any tag moved" not in summary.failures[0]
    assert "charts" in summary.failures[0]
