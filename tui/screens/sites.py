"""Further sites beside the Target form's target (the hub): added by hand, each with its own
credentials, or loaded from a sites file; what replication from the Summary copies to."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import Button, Checkbox, DataTable, Input, Static

from core.api import ArchfuseError, Site, load_sites, sites_base
from tui.advice import say_error
from tui.format import printable
from tui.messages import WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.screens.target import row
from tui.target_settings import TargetSettings
from tui.widgets.tickbox import TickBox

SITE_FIELDS = [
    # id, label, placeholder, password
    ("sites_file", "Sites file", "sites.yaml: name, registry, credentials per site", False),
    ("site_name", "Site name", "e.g. east", False),
    ("site_registry", "Site registry", "https://host[:port]", False),
    ("site_username", "Site username", "empty: the Target form's", False),
    ("site_password", "Site password", "never shown; empty: the Target form's", True),
]


class SitesScreen(FlowScreen):
    """The further sites: a list, a row to add one by hand, a sites file to load."""

    SUB_TITLE = "Further sites"
    ACTIONS = (
        Command("Add the site", "Add the site typed in the fields below the file", "add_site", "ctrl+n", "Add site"),
        Command("Load the sites file", "Read the sites file: its sites replace those loaded before", "load", "ctrl+l",
                "Load file"),
        Command("Remove the highlighted site", "Take the highlighted site off the list", "remove", "delete", "Remove"),
        Command("Back: target", "Return to the Target form", "back", "escape", "Back"),
    )
    BODY_CLASSES = "body form"

    def compose_body(self) -> ComposeResult:
        for field_id, label, placeholder, password in SITE_FIELDS:
            value = self.state.settings.sites_file if field_id == "sites_file" else ""
            yield row(label, Input(value, placeholder=placeholder, password=password, id=field_id, compact=True,
                                   select_on_focus=False))
        yield row("Site TLS", TickBox("Insecure: plain HTTP, unverified TLS", False, id="site_insecure",
                                      compact=True))
        yield Button("Add site (^N)", id="add", compact=True)
        yield DataTable(id="sites", cursor_type="row", zebra_stripes=True)
        yield Static("", id="sites-status", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("site", "registry", "user")
        self.refill()
        self.query_one("#site_name", Input).focus()

    def field(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value.strip()

    def refill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for site in self.state.sites:
            table.add_row(site.name, site.config.description, site.config.username or "-", key=site.name)
        count = len(self.state.sites)
        self.say(f"{count} further site(s); the Target form's target is the hub." if count else
                 "No further site: add one, or load a sites file.")

    def say(self, text: str) -> None:
        self.query_one("#sites-status", Static).update(printable(text))

    # -- by hand ----------------------------------------------------------------------
    def action_add_site(self) -> None:
        name, registry = self.field("site_name"), self.field("site_registry")
        if not name or not registry:
            self.fail("Enter the site's name and its registry URL (https://host[:port]) first.")
            return
        if any(s.name == name for s in self.state.sites):
            self.fail(f"A site is already named {name!r}: give each site its own name.")
            return
        form = TargetSettings(registry=registry, username=self.field("site_username") or self.state.settings.username,
                              password=self.query_one("#site_password", Input).value or self.state.settings.password,
                              insecure=self.query_one("#site_insecure", Checkbox).value)
        try:
            config = form.target_config()
        except ArchfuseError as err:
            self.fail(say_error(err))
            return
        self.state.sites.append(Site(name, config))
        self.archfuse.remember_form(form)  # the site's own form, as the Target form's is (never the password)
        for field_id in ("site_name", "site_registry", "site_username", "site_password"):
            self.query_one(f"#{field_id}", Input).value = ""
        self.refill()

    def action_remove(self) -> None:
        table = self.query_one(DataTable)
        if not self.state.sites or table.row_count == 0:
            return
        del self.state.sites[table.cursor_row]
        self.refill()

    # -- from a file ------------------------------------------------------------------
    def action_load(self) -> None:
        path = self.field("sites_file")
        if not path:
            self.fail("Enter the sites file's path first (YAML: sites: [{name, registry, ...}]).")
            return
        settings = self.state.settings
        settings.sites_file = path
        try:
            base = sites_base(settings.username or None, settings.inputs().password, insecure=settings.insecure,
                              ca_cert=Path(settings.ca_cert).expanduser() if settings.ca_cert else None,
                              prefix=settings.prefix)
        except ArchfuseError as err:
            self.fail(say_error(err))
            return
        self.say(f"Reading {path}…")
        self.archfuse.start_work(self, "sites", lambda: load_sites(Path(path).expanduser(), base), self.loaded)

    def loaded(self, sites: list[Site]) -> None:
        hand = [s for s in self.state.sites if all(s.name != f.name for f in sites)]
        self.state.sites[:] = [*sites, *hand]
        self.refill()

    def on_work_failed(self, message: WorkFailed) -> None:
        self.say("The sites file could not be read.")
        self.fail(message.message)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self.action_add_site()
