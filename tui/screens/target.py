"""Step 2: where the images and charts go — a registry or an OCI layout directory."""

from __future__ import annotations

import dataclasses
from typing import Any

from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Select, Static

from core.api import MAX_JOBS, ArchfuseError, destination_choices
from tui.advice import say_error
from tui.format import printable
from tui.messages import WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.target_settings import (
    TargetSettings,
    chart_credentials_from_env,
    password_in_other_field,
    run_options,
)
from tui.widgets.tickbox import TickBox


def row(label: str, field: Widget) -> Horizontal:
    """One line of the form: its label, then its field."""
    return Horizontal(Static(label, classes="label"), field, classes="row")


CHART_TYPES = destination_choices()

FIELDS = [
    # id, label, placeholder, password
    ("registry", "Registry", "https://host[:port] or an OCI layout directory", False),
    ("cluster_config", "Cluster config", "clusterConfig.yaml (instead of the fields below)", False),
    ("chart_repo", "Chart repo", "empty: charts go to the registry as OCI", False),
    ("username", "Username", "empty: $ARCHFUSE_USERNAME or docker config.json", False),
    ("password", "Password", "never shown", True),
    ("ca_cert", "CA certificate", "PEM file that signed the registry's certificate", False),
    ("prefix", "Prefix", "path put before every image repository", False),
    ("registry_storage", "Registry data", "where a registry on this node stores data (disk gauge)", False),
    ("spool_dir", "Spool directory", "where blobs wait when they must (empty: the temp directory)", False),
    ("spool_budget", "Spool budget", "most the spool may hold, e.g. 256MiB or 1GiB", False),
    ("jobs", "Jobs", f"blob uploads at once, 1-{MAX_JOBS}; moderate for registries on HDDs", False),
    ("limit_rate", "Rate limit", "most bytes/s uploaded, e.g. 20MiB; empty: no limit", False),
    ("retry_for", "Retry for", "how long a failing registry is retried, e.g. 30m; empty: 10m", False),
]
#: the Harbor projects archfuse creates (after asking)
VISIBILITIES = [("public: anyone may pull", "public"), ("private: members only", "private")]


class TargetScreen(FlowScreen):
    """A form; t tests the connection in a worker, n goes on to the checks."""

    SUB_TITLE = "2/5 Target"
    ACTIONS = (
        Command("Test connection", "Ping the target with these settings", "test", "ctrl+t"),
        Command("Next: checks and plan", "Check everything and work out the plan", "next", "ctrl+n", "Next"),
        Command("Back: packages", "Change the package selection", "back", "escape", "Back"),
        Command("Further sites", "Add sites beside this target (by hand or from a sites file): the Summary "
                "replicates to them", "sites", "ctrl+o", "Sites", show=False),
        # focus moves as the key arrives (priority), so keys typed ahead of it land in the next field,
        # never in the one being left: `admin`, Tab, the password typed fast must not fill Username
        Command("Next field", "", "next_field", "tab", show=False, palette=False, priority=True),
        Command("Previous field", "", "previous_field", "shift+tab", show=False, palette=False, priority=True),
        Command("Field done", "", "field_done", "enter", show=False, palette=False, priority=True),
    )
    BODY = VerticalScroll
    BODY_CLASSES = "body form"

    def compose_body(self) -> ComposeResult:
        settings = self.state.settings
        values = dataclasses.asdict(settings)
        for field_id, label, placeholder, password in FIELDS:
            yield row(label, Input(
                str(values[field_id]),
                placeholder=placeholder,
                password=password,
                id=field_id,
                compact=True,
                select_on_focus=False,  # a stray key must not wipe a filled-in field
            ))
        yield row("Chart repo type", Select(
            CHART_TYPES, value=settings.chart_repo_type, allow_blank=False, id="chart_repo_type", compact=True
        ))
        yield row("Chart login", Static(chart_credentials_from_env(), id="chart_login", markup=False))
        yield row("New spaces", Select(
            VISIBILITIES, value=settings.space_visibility, allow_blank=False, id="space_visibility", compact=True
        ))
        yield row("TLS", TickBox(
            "Insecure: allow plain HTTP and unverified TLS", settings.insecure, id="insecure", compact=True
        ))
        with Horizontal(classes="row buttons"):
            yield Button("Test connection (^T)", id="test", compact=True)
            yield Button("Next (^N)", id="next", variant="primary", compact=True)
        yield Static("", id="status", markup=False)

    def on_mount(self) -> None:
        self.query_one("#registry", Input).focus()

    def action_next_field(self) -> None:
        self.focus_next()

    def action_previous_field(self) -> None:
        self.focus_previous()

    def action_field_done(self) -> None:
        """Enter in a field moves to the next one at once; elsewhere (a button, a list) it does its own."""
        if not isinstance(self.focused, Input):
            raise SkipAction()
        self.focus_next()

    def read_form(self) -> TargetSettings:
        """The settings as typed now (also stored in the flow state)."""
        values: dict[str, Any] = {fid: self.query_one(f"#{fid}", Input).value for fid, *_ in FIELDS}
        settings = TargetSettings(
            **values,
            chart_repo_type=str(self.query_one("#chart_repo_type", Select).value),
            space_visibility=str(self.query_one("#space_visibility", Select).value),
            insecure=self.query_one("#insecure", Checkbox).value,
            sites_file=self.state.settings.sites_file,
        )
        self.state.settings = settings
        return settings

    def action_test(self) -> None:
        settings = self.read_form()
        self.query_one("#status", Static).update(printable(f"Testing {settings.describe()}…"))
        try:
            target = self.archfuse.connect(settings).target
        except ArchfuseError as err:
            self.on_work_failed(WorkFailed("ping", say_error(err)))
            return

        def ping() -> str:
            target.ping()
            return f"{target.description} answers; the credentials work."

        self.archfuse.start_work(self, "ping", ping, self.answered)

    def answered(self, answer: str) -> None:
        """The target answered the test."""
        self.query_one("#status", Static).update(printable(f"ok: {answer}"))

    def on_work_failed(self, message: WorkFailed) -> None:
        self.query_one("#status", Static).update("Connection failed.")
        self.fail(message.message)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "test":
            self.action_test()
        elif event.button.id == "next":
            self.action_next()

    def action_next(self) -> None:
        settings = self.read_form()
        if not settings.inputs().names_target:
            self.fail("Enter a registry URL (https://host[:port]) or an OCI layout directory first.")
            return
        swallowed = password_in_other_field(settings)
        if swallowed is not None:  # emptied at once: the password must not stay on the screen
            field_id, label = swallowed
            self.query_one(f"#{field_id}", Input).value = ""
            self.read_form()
            self.fail(f"The {label} field held the password (keys typed ahead of a move to the next field land in "
                      f"the field being left), so it was emptied: type {label} again, then check the password.")
            return
        try:
            self.archfuse.options = run_options(settings, self.archfuse.options)
        except ArchfuseError as err:
            self.fail(say_error(err))
            return
        self.archfuse.remember_form(settings)
        from tui.screens.checks import ChecksScreen

        self.app.push_screen(ChecksScreen())

    def action_sites(self) -> None:
        from tui.screens.sites import SitesScreen

        self.read_form()
        self.app.push_screen(SitesScreen())

    def action_back(self) -> None:
        self.read_form()
        super().action_back()
