"""The two faces build the engine the same way: one TargetConfig from the same inputs and environment."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, Select

from core import events as ev
from core.api import Listed, Workspace, parse_package_name
from core.session import Session
from tests.cli_driver import archfuse
from tests.fixtures.chartservers import ChartMuseumTestServer
from tests.fixtures.registry import RegistryServer
from tests.tui_support import make_app, settle, start, to_checks, to_target, workdir_fixture  # noqa: F401 - fixture
from tui.app import create_app
from tui.cli import _session, build_parser

CHART_USER, CHART_PASSWORD = "chartuser", "chartpass"


def cli_session(argv: list[str]) -> Session:
    """What ``archfuse ARGV`` opens (the session every target command works with)."""
    return _session(build_parser().parse_args(argv), ev.discard)


async def test_cli_and_tui_build_one_target_config_from_the_same_inputs_and_env_test_server_chartmuseum(
    workdir: Path,
    registry_factory: Callable[..., RegistryServer],
    chartmuseum: ChartMuseumTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = registry_factory(auth="htpasswd")
    assert registry.username and registry.password
    for name, value in (
        ("ARCHFUSE_USERNAME", registry.username),
        ("ARCHFUSE_PASSWORD", registry.password),
        ("ARCHFUSE_CHART_USERNAME", CHART_USER),
        ("ARCHFUSE_CHART_PASSWORD", CHART_PASSWORD),
    ):
        monkeypatch.setenv(name, value)
    cli = cli_session([
        "plan", "pk", "--registry", registry.url, "--insecure", "--prefix", "addons/v1",
        "--chart-repo", chartmuseum.url, "--chart-repo-type", "chartmuseum", "--space-visibility", "private",
    ])
    try:
        cli.target.ping()  # the environment's credentials reach both servers
        assert cli.charts is not None
        cli.charts.ping()
    finally:
        cli.close()

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await to_target(pilot)
        for field, value in (("registry", registry.url), ("prefix", "addons/v1"), ("chart_repo", chartmuseum.url)):
            form.query_one(f"#{field}", Input).value = value
        form.query_one("#chart_repo_type", Select).value = "chartmuseum"
        form.query_one("#space_visibility", Select).value = "private"
        form.query_one("#insecure", Checkbox).value = True
        await pilot.press("ctrl+t")  # Test connection: opens the form's session and pings the registry
        await settle(pilot)
        assert str(form.query_one("#status").render()).startswith("ok: "), form.query_one("#status").render()
        tui = app.session
        assert tui is not None
        assert tui.config == cli.config
        assert tui.config.chart_username == CHART_USER and tui.config.chart_password is not None
        assert tui.secrets == cli.secrets == (registry.password, CHART_PASSWORD)
        assert tui.charts is not None
        tui.charts.ping()
        # the same form again keeps the session; another target replaces it and closes the old one
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.session is tui
        form.query_one("#prefix", Input).value = "addons/v2"
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.session is not tui and app.session is not None and app.session.prefix == "addons/v2"
    authorized = [r.authorized for r in chartmuseum.requests]
    assert authorized and all(authorized), chartmuseum.requests


@pytest.mark.parametrize("command", ["scan", "plan"])
def test_rescan_reads_the_package_again_and_refreshes_the_cache_for_scan_and_plan(
    command: str, demo_packages: list[Path], tmp_path: Path
) -> None:
    package = demo_packages[0]
    target = ["--registry", str(tmp_path / "layout")] if command == "plan" else []
    state = tmp_path / "state"

    def scanned(*flags: str) -> str:
        done = archfuse(command, package, *target, *flags, state_dir=state)
        assert done.code == 0, done.err
        lines = [line for line in (done.out + done.err).splitlines() if line.startswith(("scanned ", "cached "))]
        assert len(lines) == 1, done.out + done.err
        return lines[0].split()[0]

    assert scanned("--rescan") == "scanned"
    assert scanned() == "cached"  # the rescan wrote what it read into the cache
    assert scanned("--rescan") == "scanned"


def _same_shape(doc: object) -> object:
    """A plan or report with what differs between two runs taken out (the run id, times, spool peak); every
    action, digest, destination, platform and count stays."""
    if isinstance(doc, dict):
        return {
            k: _same_shape(v)
            for k, v in doc.items()
            if k not in ("run_id", "started_at", "ended_at", "duration_seconds", "peak_spool")
        }
    if isinstance(doc, list):
        return [_same_shape(v) for v in doc]
    return doc


async def test_cli_and_tui_select_plan_and_report_the_same_for_the_same_packages_and_target(workdir: Path) -> None:
    """The TUI's default selection, plan, run and verified report against a layout; then the CLI's,
    for the packages the Workspace selects, against the same layout made anew: the same, field for field."""
    listed = [Listed(str(p), *(parse_package_name(p.name) or ("", ""))) for p in sorted((workdir / "pk").glob("*.tar.gz"))]
    chosen = Workspace(state_dir=workdir / "cli-state").default_selection(listed)
    layout = str((workdir / "layout").resolve())
    app = create_app([workdir / "pk"], str(workdir / "tui-state"), layout, blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert set(app.state.selected) == set(chosen.paths)
        await to_checks(pilot)
        preflight = app.state.preflight
        assert preflight is not None and preflight.plan is not None
        tui_plan = {"images": [i.to_json() for i in preflight.plan.images], "charts": [c.to_json() for c in preflight.charts]}
        await start(pilot)
        await settle(pilot)
        await pilot.press("n")  # the Summary verifies, and the verification goes into the report
        await settle(pilot)
        summary = app.state.summary
        assert summary is not None and summary.status == "done" and app.state.verify is not None
        tui_report = json.loads(summary.reports[1].read_text())

    (workdir / "layout").rename(workdir / "tui-layout")  # the same target, fresh, for the CLI
    paths = sorted(chosen.paths)
    cli_state = workdir / "cli-state"
    planned = archfuse("plan", *paths, "--registry", layout, "--json", state_dir=cli_state)
    assert planned.code == 0, planned.err
    cli_plan = json.loads(planned.out)
    imported = archfuse("import", *paths, "--registry", layout, "--yes", "--json", state_dir=cli_state)
    assert imported.code == 0, imported.err
    verified = archfuse("verify", *paths, "--registry", layout, "--json", state_dir=cli_state)
    assert verified.code == 0, verified.err
    (report_path,) = (cli_state / "reports").glob("*.json")
    cli_report = json.loads(report_path.read_text())

    assert _same_shape(tui_plan) == _same_shape({"images": cli_plan["images"], "charts": cli_plan["charts"]})
    assert tui_report["verify"] is not None and cli_report["verify"] is not None  # both reports verified
    assert _same_shape(tui_report) == _same_shape(cli_report)
