"""Chart destination kinds in one registry (core.charts.destinations.DESTINATIONS): config validation,
the CLI's ``--chart-repo-type`` choices and the TUI's list all read it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from core.charts.destinations import DESTINATIONS, DestinationSpec, destination_choices, make_destination
from core.charts.oci import OciChartDestination
from core.config import TargetConfig
from core.errors import UsageError
from core.kinds import ChartDestinationKind
from core.targets.layout import LayoutTarget
from tui.cli import build_parser
from tui.screens.target import CHART_TYPES


def _chart_repo_type_choices() -> list[str]:
    parser = build_parser()
    plan = next(
        sub.choices["plan"] for sub in parser._actions if isinstance(sub, argparse._SubParsersAction)
    )
    (option,) = [a for a in plan._actions if "--chart-repo-type" in a.option_strings]
    return list(option.choices or ())


def test_every_kind_has_a_destination_and_every_face_offers_exactly_the_registry() -> None:
    assert set(DESTINATIONS) == set(ChartDestinationKind)
    kinds = list(DESTINATIONS)
    assert _chart_repo_type_choices() == kinds
    assert [value for _title, value in CHART_TYPES] == kinds
    assert [title for title, _kind in destination_choices()] == [cls.TITLE for cls in DESTINATIONS.values()]


def test_config_validation_and_the_factory_refuse_a_kind_not_in_the_registry(tmp_path: Path) -> None:
    config = TargetConfig(layout_path=tmp_path / "layout", chart_repo_type="jfrog")
    with pytest.raises(UsageError, match="use one of oci, chartmuseum, harbor"):
        config.validate()
    with pytest.raises(UsageError, match="Unknown chart repository type 'jfrog'"):
        make_destination("jfrog", DestinationSpec(url="https://charts.example"))
    oci = make_destination("oci", DestinationSpec(target=LayoutTarget(tmp_path / "layout")))
    assert isinstance(oci, OciChartDestination)


class _RecordingDestination:
    """A kind a test adds to the registry: it builds itself from the spec, as the real kinds do."""

    TITLE = "Recording"

    def __init__(self, spec: DestinationSpec) -> None:
        self.spec = spec

    @classmethod
    def build(cls, spec: DestinationSpec) -> _RecordingDestination:
        return cls(spec)


def test_a_kind_added_to_the_registry_is_built_by_its_own_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(DESTINATIONS, "recording", _RecordingDestination)
    built = make_destination("recording", DestinationSpec(url="https://charts.example/x", username="u"))
    assert isinstance(built, _RecordingDestination)  # not a Harbor destination by falling through
    assert built.spec.url == "https://charts.example/x" and built.spec.username == "u"
    assert ("Recording", "recording") in destination_choices()


def test_a_kind_missing_from_the_registry_is_refused_not_taken_for_another(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(DESTINATIONS, "harbor")
    with pytest.raises(UsageError, match="Unknown chart repository type 'harbor'"):
        make_destination("harbor", DestinationSpec(url="https://harbor.example/chartrepo/library"))
