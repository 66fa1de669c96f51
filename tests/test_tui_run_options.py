"""Jobs and Rate limit on the Target form: the CLI's ``--jobs`` and ``--limit-rate``, its rules and
words, carried into the run (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from core.checks.preflight import Preflight
from core.plan.results import RunSummary
from core.run.concurrency import AUTO_MAX_JOBS
from core.run.engine import RunOptions
from core.run.options import check_jobs, jobs_setting, parse_jobs, parse_rate, typed_run_options
from core.session import Session
from tests.fixtures.registry import RegistryServer, skopeo_inspect_raw
from tests.tui_support import make_app, settle, start, to_target, workdir_fixture  # noqa: F401 - fixture
from tui import cli
from tui.screens.dialogs import ErrorDialog
from tui.target_settings import TargetSettings

MIB = 1 << 20


class OptionsSession(Session):
    """The real session, noting the run options its preflight and run were given."""

    seen: list[RunOptions] = []

    def preflight(self, packages: Any, *, options: RunOptions | None = None, **kwargs: Any) -> Preflight:
        assert options is not None
        OptionsSession.seen.append(options)
        return super().preflight(packages, options=options, **kwargs)

    def run(self, preflight: Preflight, *, options: RunOptions | None = None, **kwargs: Any) -> RunSummary:
        assert options is not None
        OptionsSession.seen.append(options)
        return super().run(preflight, options=options, **kwargs)


async def test_jobs_and_rate_limit_reach_the_checks_and_the_run(workdir: Path, registry: RegistryServer) -> None:
    OptionsSession.seen = []
    app = make_app(OptionsSession)
    app.state.settings = TargetSettings(registry=registry.url, insecure=True)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await to_target(pilot)
        assert form.query_one("#jobs", Input).value == "auto" and form.query_one("#limit_rate", Input).value == ""
        form.query_one("#jobs", Input).value = "3"
        form.query_one("#limit_rate", Input).value = "50MiB/s"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert not app.state.preflight.failed, app.state.preflight.failures
        await start(pilot)
        await settle(pilot)
        assert app.state.summary is not None and app.state.summary.status == "done", app.state.summary
    assert [(o.workers, o.rate_limit) for o in OptionsSession.seen] == [(3, 50 * MIB), (3, 50 * MIB)]
    image = app.state.preflight.plan.images[0].destination
    assert skopeo_inspect_raw(image, registry)["manifests"]  # the run wrote the registry


@pytest.mark.parametrize(
    ("field", "value", "flag"),
    [("jobs", "40", "--jobs"), ("jobs", "0", "--jobs"), ("limit_rate", "fast", "--limit-rate")],
)
async def test_a_bad_value_gives_the_cli_error_naming_the_field(
    field: str, value: str, flag: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["import", "pk", "--registry", "layout", "--state-dir", "state", "--yes", flag, value]) == 2
    said = capsys.readouterr().err.strip().splitlines()[-1].removeprefix("archfuse: ")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await to_target(pilot)
        form.query_one(f"#{field}", Input).value = value
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)
        name = {"jobs": "Jobs", "limit_rate": "The rate limit"}[field]
        assert app.screen.message == said.replace(flag, name, 1)


async def test_the_form_starts_from_the_run_options_the_app_was_given(workdir: Path) -> None:
    app = make_app(options=RunOptions(workers=5, rate_limit=20 * MIB))
    async with app.run_test(size=(80, 24)) as pilot:
        form = await to_target(pilot)
        assert form.query_one("#jobs", Input).value == "5"
        assert form.query_one("#limit_rate", Input).value == "20.0MiB"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert (app.options.workers, app.options.rate_limit) == (5, 20 * MIB)


def test_option_rules() -> None:
    assert parse_jobs(" 12 ") == 12 and check_jobs(32) == 32
    assert parse_rate("") == 0 and parse_rate("0") == 0 and parse_rate("500KiB/s") == 500 << 10
    with pytest.raises(Exception, match="--jobs 33 is out of range; give a number from 1 to 32."):
        check_jobs(33)
    with pytest.raises(Exception, match="Jobs 'many' is not a number; give a number from 1 to 32."):
        parse_jobs("many", name="Jobs")


def test_an_emptied_field_is_the_default() -> None:
    """A Jobs or Rate limit field the engineer cleared means the default, as an empty spool field does:
    ``auto`` for Jobs (up to AUTO_MAX_JOBS uploads at once, found by the run)."""
    options = typed_run_options(RunOptions(), jobs=" ", limit_rate="", spool_budget="", spool_dir="")
    assert options.auto_jobs and options.workers == AUTO_MAX_JOBS
    assert options.rate_limit == 0 and options.spool_budget == 256 << 20
    assert typed_run_options(RunOptions(), jobs="Auto", limit_rate="", spool_budget="", spool_dir="") == options
    fixed = typed_run_options(RunOptions(), jobs="8", limit_rate="", spool_budget="", spool_dir="")
    assert (fixed.workers, fixed.auto_jobs, jobs_setting(fixed), jobs_setting(options)) == (8, False, "8", "auto")


def test_retry_for_on_the_cli_and_the_form_reaches_the_registry_client(tmp_path: Path) -> None:
    """``--retry-for`` / ``--stall-timeout`` and the form's Retry for: one rule (durations), the
    option named in the message, and the registry client opened with them."""
    from core.registry.retry import DEFAULT_RETRY_FOR
    from core.targets.connect import open_target
    from core.targets.registry import RegistryTarget

    args = cli.build_parser().parse_args(
        ["plan", "--registry", "https://registry.example", "--retry-for", "30m", "--stall-timeout", "90s"]
    )
    config = cli.target_config(args)
    assert (config.retry_for, config.stall_timeout) == (1800.0, 90.0)
    target = open_target(config)
    assert isinstance(target, RegistryTarget)
    assert (target.client.retries.max_total, target.client.stall_timeout) == (1800.0, 90.0)
    target.close()
    for command in ("import", "verify"):
        assert cli.build_parser().parse_args([command, "--retry-for", "1h"]).retry_for == "1h"
    assert cli.build_parser().parse_args(["rollback", "abc", "--retry-for", "1h"]).retry_for == "1h"
    with pytest.raises(Exception, match=r"--retry-for '5 lives' is not a duration; write it like 90s, 10m or 1h."):
        cli.target_config(cli.build_parser().parse_args(["plan", "--registry", "https://r.example", "--retry-for", "5 lives"]))

    form = TargetSettings(registry="https://registry.example", retry_for="2h")
    assert form.target_config().retry_for == 7200.0
    assert TargetSettings(registry="https://registry.example").target_config().retry_for == DEFAULT_RETRY_FOR
    with pytest.raises(Exception, match=r"Retry for 'soon' is not a duration"):
        TargetSettings(registry="https://registry.example", retry_for="soon").target_config()


async def test_the_tui_started_bare_offers_jobs_auto_as_the_cli_does(workdir: Path) -> None:
    """``archfuse DIR`` makes the app with no run options: its Jobs field and its runs are ``auto``,
    the CLI's default, not a fixed number."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await to_target(pilot)
        assert form.query_one("#jobs", Input).value == "auto"
        assert app.options.auto_jobs and jobs_setting(app.options) == "auto"
