"""History: the runs in the journal, newest first; rollback of one, asking first."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from core.api import (
    ArchfuseError,
    ImageRow,
    RollbackSummary,
    RunDetail,
    RunKind,
    RunRecord,
    RunStatus,
    Session,
    TagRecord,
    config_for_run,
)
from tui.advice import say_error
from tui.format import fitted, printable, printable_lines, reference, reference_width, size
from tui.messages import EngineEvent, WorkFailed
from tui.screens.base import Command, FlowScreen
from tui.screens.dialogs import ScrollPage

STATUS_STYLE = {RunStatus.DONE: "green", RunStatus.FAILED: "bold red", RunStatus.CANCELLED: "yellow",
                RunStatus.INTERRUPTED: "yellow"}


#: the history's columns at 80 (label, key, widest); the target takes the rest
NARROW_COLUMNS = (("run", "id", 12), ("status", "status", 11), ("started", "started", 11),
                  ("versions", "versions", 15), ("arches", "arches", 11))
#: and from WIDE_HISTORY columns on
WIDE_COLUMNS = (("run", "id", 12), ("kind", "kind", 8), ("status", "status", 11), ("started", "started", 11),
                ("versions", "versions", 24), ("arches", "arches", 17), ("images", "images", 6),
                ("uploaded", "bytes", 10))
WIDE_HISTORY = 120


def run_cells(run: RunRecord, wide: bool) -> dict[str, Text]:
    """One run's cells by column key; narrow, a rollback says so in the versions column (it has none)."""
    versions = printable(" ".join(sorted(set(run.versions))))
    if not wide and run.kind != RunKind.IMPORT:
        versions = str(run.kind)
    return {
        "id": Text(run.id),
        "kind": Text(run.kind),
        "status": Text(run.status, style=STATUS_STYLE.get(run.status, "")),
        "started": Text(time.strftime("%m-%d %H:%M", time.localtime(run.started))),
        "versions": Text(versions or "-"),
        "arches": Text(arches_of(run)),
        "images": Text(str(run.images)),
        "bytes": Text(size(run.bytes_uploaded)),
    }


def arches_of(run: RunRecord) -> str:
    """``amd64,arm64``: the arches of the run's packages."""
    return ",".join(sorted({str(p.get("arch", "")) for p in run.packages} - {""})) or "-"


def plural(n: int, noun: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def nothing_to_undo(run: RunRecord, tags: list[TagRecord]) -> str:
    """Why rolling ``run`` back would change nothing, or '' when it may put tags back."""
    if run.status == RunStatus.RUNNING:
        return f"Run {run.id} is still running; roll it back when it has ended."
    if not tags:
        return f"Run {run.id} moved no tag: there is nothing to roll back."
    deletes_tags = run.target.startswith("oci:")  # an OCI layout can delete a tag; a registry cannot
    if all(t.before is None for t in tags) and not deletes_tags:
        return (
            f"Nothing can be undone: run {run.id} created every tag it wrote ({plural(len(tags), 'tag')}), and "
            f"{run.target} cannot delete a tag (the registry API has none), so a rollback would leave them all."
        )
    return ""


def rollback_counts(summary: RollbackSummary) -> str:
    """``2 restored, 4 deleted``."""
    return ", ".join(f"{n} {r}" for r, n in sorted(summary.counts().items())) or "no tags"


def rollback_question(run: RunRecord, tags: list[TagRecord]) -> str:
    """The rollback's question: how many tags go back, what happens to those the run created, what stays."""
    back = sum(1 for t in tags if t.before is not None)
    created = len(tags) - back
    lines = [f"Roll back run {run.id} ({run.kind}, {run.status}) on {run.target}?"]
    if back:
        lines.append(f"{plural(back, 'tag')} {'goes' if back == 1 else 'go'} back to what they held before the run.")
    if created:
        if run.target.startswith("oci:"):
            lines.append(f"{plural(created, 'tag')} the run created {'is' if created == 1 else 'are'} deleted.")
        else:
            lines.append(f"{plural(created, 'tag')} the run created {'is' if created == 1 else 'are'} left as they are (the registry API cannot "
                         "delete a tag).")
    lines.append("A tag someone moved since is kept. Blobs and manifests the run uploaded stay (garbage "
                 "collection removes what no tag uses).")
    return " ".join(lines)


def detail_text(detail: RunDetail, report: Path | None) -> str:
    """The run as a page of text: packages, images, charts, tags moved, report."""
    run = detail.run
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started))
    lines = [f"Run {run.id}: {run.kind}, {run.status}, started {when}", f"Target: {run.target}"]
    if run.message:
        lines.append(f"Message: {run.message}")
    lines.append("")
    lines.append(f"Packages ({len(run.packages)}):")
    lines += [f"  {p.get('version', '?')} {p.get('arch', '?')}  {p.get('name', p.get('path', ''))}" for p in run.packages]
    counts = ", ".join(f"{n} {a}" for a, n in sorted(run.counts.items())) or "none"
    lines += ["", f"Images ({plural(len(detail.images), 'row')}: {counts}; {size(run.bytes_uploaded)} uploaded):"]
    lines += image_lines(detail.images, run.target)
    lines += ["", f"Charts ({len(detail.charts)}):"]
    lines += [f"  {c.action:<11} {c.name}-{c.version} -> {c.destination}  {c.result}" for c in sorted(detail.charts, key=lambda c: (c.name, c.version))] or ["  none"]
    lines += ["", f"Tags moved ({len(detail.tags)}):"]
    lines += [
        f"  {t.repository}:{t.tag}  {_short(t.before) if t.before else 'created'} -> {_short(t.after)}"
        for t in detail.tags
    ] or ["  none"]
    lines += ["", f"Report: {report}" if report else "Report: none was written for this run."]
    return relative("\n".join(lines))


def relative(text: str) -> str:
    """Paths under the working directory read short, as the engineer typed them."""
    return text.replace(f"{Path.cwd()}/", "")


def image_lines(rows: list[ImageRow], target: str = "") -> list[str]:
    """The image rows of a run's detail (destinations under ``target`` named short); an explanation several
    rows share (a rollback's "left: the registry cannot delete a tag", say) is said once under them, the
    rows pointing at it by number (no number when every row shares the one explanation)."""
    rows = sorted(rows, key=lambda i: (i.destination, i.platform))
    texts = [i.result.replace(i.digest, "the digest shown") if i.digest else i.result for i in rows]
    counts = Counter(texts)
    shared = [t for t in dict.fromkeys(texts) if t and counts[t] > 1]
    one = len(shared) == 1 and counts[shared[0]] == len(rows)
    base = target.removeprefix("oci:").split("://", 1)[-1].rstrip("/") + "/"
    lines = []
    for row, text in zip(rows, texts):
        said = ("" if one else f"[{shared.index(text) + 1}]") if text in shared else row.result
        digest = f"  {_short(row.digest)}" if row.digest and row.digest in row.result and text in shared else ""
        platform = f" {row.platform.removeprefix('linux/'):<6}" if row.platform else ""
        lines.append(f"  {row.action:<11}{platform} {row.destination.removeprefix(base)}{digest}  {said}".rstrip())
    if one:
        return [*lines, f"  All {len(rows)}: {shared[0]}"]
    return [*lines, *(f"  [{n}] {plural(counts[t], 'row')}: {t}" for n, t in enumerate(shared, 1))]


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "deleted"


class RunDetailScreen(ScrollPage):
    """One run of the history, as a scrollable page; Escape closes it."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, text: str) -> None:
        super().__init__("help", "Run detail (Escape closes)", Static(printable_lines(text.split("\n")), id="run-detail", markup=False))
        self.text = text


class HistoryScreen(FlowScreen):
    """The journal's runs; ctrl+r rolls the highlighted one back after asking."""

    SUB_TITLE = "History"
    ACTIONS = (
        Command("Open the highlighted run", "Its packages, images, charts, tags moved and report", "open", "enter",
                "Open"),
        Command("Roll back the highlighted run", "Put back the tags it moved (asks first)", "rollback", "ctrl+r",
                "Roll back"),
        Command("Free space", "Prune old versions from the highlighted run's target: bytes freed, plan, consent",
                "free_space", "f", "Free space"),
        Command("Reload the history", "Read the journal again", "reload", "f5", "Reload"),
        Command("Back", "Return to the previous screen", "back", "escape"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunRecord] = []

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail", markup=False)

    def on_mount(self) -> None:
        self.width_laid_out = 0
        self.action_reload()

    def on_resize(self) -> None:
        if self.app.size.width != self.width_laid_out and self.runs:
            self.show_runs(self.runs)

    def action_reload(self) -> None:
        self.query_one("#detail", Static).update("Reading the journal…")
        self.archfuse.start_work(self, "history", self.archfuse.workspace.history, self.show_runs)

    def show_runs(self, runs: list[RunRecord]) -> None:
        """The runs as a table laid out for the screen's width, each column as wide as its words: the run
        id, status, start, versions, arches and target always (a rollback says so where the versions go);
        the kind, images and bytes too when there is room (the line under the table has them all)."""
        self.runs = runs
        table = self.query_one(DataTable)
        total = self.width_laid_out = self.app.size.width
        wide = total >= WIDE_HISTORY
        columns = WIDE_COLUMNS if wide else NARROW_COLUMNS
        rows = [run_cells(run, wide) for run in runs]
        widths = {key: fitted(label, (row[key].plain for row in rows), most) for label, key, most in columns}
        fixed = sum(widths.values()) + 2 * (len(columns) + 1) + 4  # cell padding, the gutter and the scrollbar
        target_width = reference_width(total, fixed, least=12)
        table.clear(columns=True)
        for label, key, _most in columns:
            table.add_column(label, key=key, width=widths[key])
        table.add_column("target", key="target", width=target_width)
        for run, row in zip(runs, rows):
            target = Text(reference(relative(run.target), "", target_width))
            table.add_row(*(row[key] for _label, key, _most in columns), target, key=run.id)
        table.focus()
        self.show_highlighted()

    def show_highlighted(self) -> None:
        """Under the table: the highlighted run in full (its target whole), and what the keys do."""
        run = self.highlighted()
        if run is None:
            self.query_one("#detail", Static).update("No runs in the journal yet.")
            return
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started))
        line = (f"Run {run.id} ({run.kind}, {run.status}, {when}) into {relative(run.target)}: "
                f"{' '.join(sorted(set(run.versions))) or '-'} {arches_of(run)}, {plural(run.images, 'image')}, "
                f"{size(run.bytes_uploaded)} uploaded.")
        self.query_one("#detail", Static).update(printable_lines([
            f"{plural(len(self.runs), 'run')}. Enter opens the highlighted run; ctrl+r rolls it back (asks first).", line
        ]))

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_highlighted()

    def highlighted(self) -> RunRecord | None:
        table = self.query_one(DataTable)
        if not self.runs or not table.row_count:
            return None
        return self.runs[table.cursor_row]

    def action_rollback(self) -> None:
        run = self.highlighted()
        if run is None:
            self.fail("There is no run to roll back; pick one in the list first.")
            return
        tags = self.archfuse.workspace.run_detail(run).tags
        nothing = nothing_to_undo(run, tags)
        if nothing:
            self.fail(nothing)
            return
        self.archfuse.ask(rollback_question(run, tags), lambda: self.rollback_now(run), yes="Roll back")

    def rollback_now(self, run: RunRecord) -> None:
        found = self.target_session(run)
        if found is None:
            return
        session, own = found

        def work() -> RollbackSummary:
            try:
                return session.rollback(run.id)
            finally:
                if own:
                    session.close()

        self.query_one("#detail", Static).update(f"Rolling back {run.id}…")
        self.archfuse.start_work(self, "rollback", work, self.rolled_back)

    def target_session(self, run: RunRecord | None) -> tuple[Session, bool] | None:
        """The session on ``run``'s target (the app's when it is the same, else its own: an OCI layout),
        with whether it was opened for the caller; None after saying why not."""
        current = self.archfuse.session
        try:
            if current is not None and (run is None or current.target.description.rstrip("/") == run.target):
                return current, False
            if run is None:
                self.fail("There is no target to work on: pick a run in the list, or fill in the Target form first.")
                return None
            return self.archfuse.open_session(config_for_run(run)), True
        except ArchfuseError as err:
            self.fail(say_error(err))
            return None

    def action_free_space(self) -> None:
        from tui.screens.prune import PruneScreen

        found = self.target_session(self.highlighted())
        if found is not None:
            session, own = found
            self.app.push_screen(PruneScreen(session, own=own))

    def action_open(self) -> None:
        run = self.highlighted()
        if run is None:
            self.fail("There is no run to open; pick one in the list first.")
            return
        workspace = self.archfuse.workspace
        self.app.push_screen(RunDetailScreen(detail_text(workspace.run_detail(run), workspace.report_of(run.id))))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def on_engine_event(self, _message: EngineEvent) -> None:
        pass  # rollback progress: the result line says what happened

    def rolled_back(self, summary: RollbackSummary) -> None:
        """A rollback finished: the list again, and what it did."""
        counts = rollback_counts(summary)
        self.state.rollbacks.append(summary)  # the Summary under this screen verifies again
        self.action_reload()
        self.notify(f"Rollback of {summary.rolled_back}: {summary.status} ({counts})", timeout=8)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.query_one("#detail", Static).update("")
        self.fail(message.message)
