"""Session.close closes the chart destination's own connections, and only those."""

from __future__ import annotations

from pathlib import Path

from core.charts.chartmuseum import ChartMuseumDestination
from core.charts.oci import OciChartDestination
from core.config import TargetConfig
from core.kinds import ChartDestinationKind
from core.session import open_session
from core.targets.registry import RegistryTarget


def test_close_closes_an_http_chart_repository(tmp_path: Path) -> None:
    config = TargetConfig(layout_path=tmp_path / "layout", chart_repo_url="http://127.0.0.1:9/charts",
                          chart_repo_type=ChartDestinationKind.CHARTMUSEUM)
    session = open_session(config, state_dir=tmp_path / "state")
    charts = session.charts
    assert isinstance(charts, ChartMuseumDestination) and not charts._http.is_closed
    session.close()
    assert charts._http.is_closed


def test_close_closes_a_separate_oci_chart_registry_but_shares_the_image_target(tmp_path: Path) -> None:
    config = TargetConfig(registry_url="http://127.0.0.1:9", insecure=True, chart_repo_url="http://127.0.0.1:10")
    session = open_session(config, state_dir=tmp_path / "state")
    charts, target = session.charts, session.target
    assert isinstance(charts, OciChartDestination) and isinstance(charts.target, RegistryTarget)
    assert isinstance(target, RegistryTarget) and charts.target is not target
    session.close()
    assert charts.target.client._http.is_closed and target.client._http.is_closed

    shared = open_session(TargetConfig(registry_url="http://127.0.0.1:9", insecure=True), state_dir=tmp_path / "s2")
    oci = shared.charts
    assert isinstance(oci, OciChartDestination) and oci.target is shared.target and not oci.owns_target
    oci.close()  # closing the destination alone leaves the shared image target open
    assert isinstance(shared.target, RegistryTarget) and not shared.target.client._http.is_closed
    shared.close()
    assert shared.target.client._http.is_closed
