"""The journal: every run, image, chart and tag write, in one SQLite file in the state dir.

``<state>/journal.sqlite`` (WAL). A run is recorded when it starts, each tag write right
*before* the tag moves (with the digest it held, or NULL when it did not exist), each image
and chart when done, and the outcome at the end. So after a crash or ``kill -9`` the journal
still knows which tags the run moved and where they were, and ``archfuse rollback`` can put
them back. A run left ``running`` by a process that is gone reads as ``interrupted``.

Secrets never reach the file: option values whose key names a secret are dropped, user info
is cut from URLs, and every string registered with :meth:`Journal.add_secret` is masked in
everything written.

One connection, shared by the engine's worker threads under a lock; other processes (a
second archfuse) share the file through SQLite's own locking.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Union, cast

from core.errors import UsageError
from core.events import Event, Warning  # the domain word
from core.helpers.versions import version_key
from core.kinds import ChartAction, ChecksumStatus, ImageAction, RollbackResult, RunKind, RunStatus
from core.package.checksum import expected_sha512
from core.package.model import PackageIndex
from core.package.naming import FULL, package_row
from core.record import faults, runlock
from core.secrets import MASK, Secret, is_secret_name, mask, mask_all
from core.terminal import printable_lines
from core.units import size_text

FILE_NAME = "journal.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,                 -- import | rollback
    target TEXT NOT NULL,               -- description, no secrets
    packages TEXT NOT NULL,             -- JSON list
    options TEXT NOT NULL,              -- JSON object, no secrets
    parent TEXT,                        -- for a rollback: the run it undid
    pid INTEGER NOT NULL,
    pid_token TEXT,
    host TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    status TEXT NOT NULL,               -- running | done | failed | cancelled
    counts TEXT NOT NULL DEFAULT '{}',  -- JSON object: action -> count
    bytes_uploaded INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_target ON runs (target, started);
CREATE TABLE IF NOT EXISTS images (
    run TEXT NOT NULL REFERENCES runs (id),
    ref TEXT NOT NULL,
    platform TEXT NOT NULL,
    destination TEXT NOT NULL,
    action TEXT NOT NULL,
    digest TEXT NOT NULL,
    result TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS images_run ON images (run);
CREATE TABLE IF NOT EXISTS charts (
    run TEXT NOT NULL REFERENCES runs (id),
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    destination TEXT NOT NULL,
    action TEXT NOT NULL,
    result TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS charts_run ON charts (run);
CREATE TABLE IF NOT EXISTS tags (
    run TEXT NOT NULL REFERENCES runs (id),
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    before_digest TEXT,                 -- NULL: the tag did not exist
    after_digest TEXT,                  -- NULL: the write deletes the tag (rollback)
    written_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tags_run ON tags (run);
CREATE INDEX IF NOT EXISTS tags_name ON tags (repository, tag);
"""

class _WrongType(sqlite3.DatabaseError):
    """The file is a database, but not a sound archfuse journal."""

@dataclass
class TagRecord:
    """The last write a run made (or was about to make) to one tag."""
    repository: str
    tag: str
    before: str | None
    after: str | None
    written_at: float
    writes: int = 1  # how many times the run wrote it (re-merges after another client moved it)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


#: what a run did to an image, as its journal row says: an import's action, or a rollback's result
RowAction = Union[ImageAction, RollbackResult]
#: how many images (an import) or tags (a rollback) took each action
Counts = Union[Mapping[ImageAction, int], Mapping[RollbackResult, int]]


def row_action(word: str) -> RowAction:
    """An action word read back from the journal: an import's ImageAction, else a rollback's result."""
    try:
        return ImageAction(word)
    except ValueError:
        return RollbackResult(word)


@dataclass
class ImageRow:
    ref: str
    platform: str
    destination: str
    action: RowAction
    digest: str
    result: str


@dataclass
class ChartRow:
    name: str
    version: str
    destination: str
    action: ChartAction
    result: str


@dataclass
class RunRecord:
    """One run as the journal knows it."""
    id: str
    kind: RunKind
    target: str
    packages: list[dict[str, Any]]
    options: dict[str, Any]
    started: float
    ended: float | None
    status: RunStatus  # running | done | failed | cancelled | interrupted
    counts: dict[RowAction, int] = field(default_factory=dict)
    bytes_uploaded: int = 0
    message: str = ""
    parent: str | None = None
    pid: int = 0
    host: str = ""
    images: int = 0
    charts: int = 0
    tags: int = 0

    @property
    def versions(self) -> list[str]:
        return [str(p.get("version", "")) for p in self.packages]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = _iso(self.started)
        data["ended_at"] = _iso(self.ended) if self.ended else None
        return data


@dataclass(frozen=True)
class RunDetail:
    """One run and what the journal recorded of it: tags moved, images and charts."""

    run: RunRecord
    tags: list[TagRecord]
    images: list[ImageRow]
    charts: list[ChartRow]


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))


def package_entry(package: PackageIndex) -> dict[str, Any]:
    """What the journal keeps of a package: identity, size and checksum (sha512 when verified)."""
    sha512: str | None = None
    if package.checksum == ChecksumStatus.OK:

        sha512 = expected_sha512(Path(package.path)) or None
    return {
        "path": package.path,
        "name": package.name,
        "version": package.version,
        "kind": package.kind,
        "arch": package.arch,
        "size": package.size,
        "checksum": package.checksum,
        "sha512": sha512,
    }


def _description(target: str) -> str:
    """How the journal names a target: its description, a layout by its real path (``./dir``, ``dir``
    and ``oci:/abs/dir`` are one target)."""
    return target_name(target)


def target_name(description: str) -> str:
    """The journal's name of a target description (a layout's path resolved)."""
    text = description.rstrip("/") or description
    if text.startswith("oci:"):
        return "oci:" + os.path.realpath(os.path.expanduser(text[len("oci:") :]))
    return text


#: opening (creating, switching to WAL) and closing (checkpointing) a journal, one thread at a time: SQLite
#: answers "disk I/O error" to threads of one process that create or switch the same new file at once
#: (the sites of a run to several, core.session.run_sites)
_OPENING = threading.Lock()


class Journal:
    """The run journal of one state dir. Use as a context manager; safe across threads."""
    def __init__(
        self, state_dir: Path | str, *, secrets: Iterable[str] = (), emit: Callable[[Event], None] | None = None
    ) -> None:
        self.state_dir = faults.ensure_dir(Path(state_dir))
        self.path = self.state_dir / FILE_NAME
        self._secrets: set[str] = {s for s in secrets if s}
        self._mutex = threading.RLock()
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as err:
            if not faults.is_corrupt(err) and not isinstance(err, _WrongType):
                raise faults.state_fault(self.path, err) from None
            aside = self._set_aside()
            if emit is not None:
                emit(Warning(
                    f"The journal {self.path} was unreadable ({err}); it was kept as {aside.name} and a new one "
                    "started. `archfuse history` and rollback no longer see the runs recorded in the old file."
                ))
            try:
                self._db = self._open()
            except sqlite3.Error as again:
                raise faults.state_fault(self.path, again) from None

    def _open(self) -> sqlite3.Connection:
        """Connect, check the file is a sound journal (WrongType, or SQLite's own error, if not)."""
        with _OPENING:
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as err:
            raise faults.state_fault(self.path, err) from None
        try:  # read-only checks first: a file set aside must stay as it was found
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise _WrongType("the database is damaged")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if (version or tables) and not {"runs", "images", "charts", "tags"} <= tables:
                raise _WrongType("it is a database but not an archfuse journal")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a tag's previous digest must survive a crash
            if version < SCHEMA_VERSION:
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    def _set_aside(self) -> Path:
        try:
            return faults.set_aside(self.path)
        except OSError as err:
            raise faults.state_fault(self.path, err) from None

    # -- plumbing ----------------------------------------------------------------------

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database (a WAL checkpoint folds recent writes into the main file)."""
        with self._mutex, _OPENING:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; a disk or file fault becomes a StateError naming the journal."""
        with self._mutex:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already (disk full)
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                raise faults.state_fault(self.path, err) from None

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._mutex:
            try:
                cur = self._db.execute(sql, args)
                cur.row_factory = cast(Any, sqlite3.Row)  # typeshed types it differently per Python
                return list(cur.fetchall())
            except sqlite3.Error as err:
                raise faults.state_fault(self.path, err) from None

    # -- secrets -----------------------------------------------------------------------

    def add_secret(self, value: str | None) -> None:
        """Mask ``value`` wherever it would be written (a password, a token)."""
        if value:
            self._secrets.add(value)

    def _clean(self, text: str) -> str:
        return mask(text, self._secrets)

    def _clean_options(self, value: Any) -> Any:
        if isinstance(value, Secret):  # wherever it sits: mask it
            self.add_secret(value.reveal())
            return MASK
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if is_secret_name(str(k)):
                    if isinstance(v, str):
                        self.add_secret(v)
                    else:
                        self._clean_options(v)  # registers nested secrets, result dropped
                    continue
                out[str(k)] = self._clean_options(v)
            return out
        if isinstance(value, (list, tuple, set)):
            return [self._clean_options(v) for v in value]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self._clean(str(value))

    def _dump(self, value: Any) -> str:
        return json.dumps(mask_all(value, self._secrets), sort_keys=True)

    # -- recording ---------------------------------------------------------------------

    def lock(self, target: str) -> contextlib.AbstractContextManager[runlock.LockOwner]:
        """Hold the one-run-per-target lock of ``target`` (a target's description).

        Raises :class:`core.errors.RunLocked` naming the run that holds it.
        """
        return runlock.hold(_description(target))

    def start_run(
        self,
        kind: RunKind,
        target: str,
        packages: Iterable[PackageIndex],
        options: dict[str, Any] | None = None,
        *,
        run_id: str | None = None,
        parent: str | None = None,
    ) -> str:
        """Record a run as started; return its id (``run_id`` if given)."""
        run_id = run_id or uuid.uuid4().hex[:12]
        clean_options = self._clean_options(dict(options or {}))  # first: registers secret values
        description = self._clean(_description(target))
        pid = os.getpid()
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, kind, target, packages, options, parent, pid, pid_token, host, started, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    kind,
                    description,
                    self._dump([package_entry(p) for p in packages]),
                    self._dump(clean_options),
                    parent,
                    pid,
                    runlock.process_token(pid),
                    socket.gethostname(),
                    time.time(),
                    RunStatus.RUNNING,
                ),
            )
        runlock.note_run(_description(target), run_id)
        return run_id

    def tag_moving(
        self, run_id: str, repository: str, tag: str, before: str | None, after: str | None
    ) -> None:
        """Record, before it happens, that ``repository:tag`` moves from ``before`` to ``after``.

        ``after`` None records a tag deletion (rollback of a tag the run created).
        """
        with self._tx() as db:
            db.execute(
                "INSERT INTO tags (run, repository, tag, before_digest, after_digest, written_at) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, repository, tag, before, after, time.time()),
            )

    def record_image(
        self, run_id: str, ref: str, platform: str, destination: str, action: RowAction, digest: str, result: str
    ) -> None:
        """Record one image row (rollback uses this for each tag it handles)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO images (run, ref, platform, destination, action, digest, result, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    ref,
                    platform,
                    self._clean(destination),
                    action,
                    digest,
                    self._clean(result),
                    time.time(),
                ),
            )

    def chart_done(
        self, run_id: str, name: str, version: str, destination: str, action: ChartAction, result: str = "done"
    ) -> None:
        """Record one chart version as done, with its action (new | unchanged | conflict | overwritten)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO charts (run, name, version, destination, action, result, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, name, version, self._clean(destination), action, self._clean(result), time.time()),
            )

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        counts: Counts | None = None,
        bytes_uploaded: int = 0,
        message: str = "",
    ) -> None:
        """Record a run's outcome: done | failed | cancelled | interrupted (stopped safely by a signal)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE runs SET status = ?, ended = ?, counts = ?, bytes_uploaded = ?, message = ? WHERE id = ?",
                (status, time.time(), self._dump(counts or {}), bytes_uploaded, self._clean(message), run_id),
            )
            if cur.rowcount != 1:
                raise UsageError(f"The journal has no run {run_id}.")

    # -- reading -----------------------------------------------------------------------

    def runs(self, limit: int = 50, *, target: str | None = None) -> list[RunRecord]:
        """The newest runs first (of one target when given)."""
        where, args = ("WHERE target = ?", (_description(target),)) if target is not None else ("", ())
        rows = self._query(
            f"SELECT * FROM runs {where} ORDER BY started DESC, rowid DESC LIMIT ?", (*args, limit)
        )
        return [self._record(row) for row in rows]

    def run(self, run_id: str) -> RunRecord:
        """One run by id or unique id prefix; UsageError when there is none."""
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows and run_id:
            rows = self._query("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\'", (_like_prefix(run_id),))
        if not rows:
            raise UsageError(
                f"The journal in {self.state_dir} has no run {run_id!r}; `archfuse history` lists them."
            )
        if len(rows) > 1:
            raise UsageError(f"{run_id!r} matches {len(rows)} runs; give more of the run id.")
        return self._record(rows[0])

    def tags_of(self, run_id: str) -> list[TagRecord]:
        """Each tag the run wrote, with the digest before and after its last write to it."""
        rows = self._query(
            "SELECT repository, tag, before_digest, after_digest, written_at, rowid FROM tags WHERE run = ?"
            " ORDER BY rowid",
            (run_id,),
        )
        out: dict[tuple[str, str], TagRecord] = {}
        for row in rows:
            key = (row["repository"], row["tag"])
            writes = out[key].writes + 1 if key in out else 1
            out[key] = TagRecord(
                row["repository"],
                row["tag"],
                row["before_digest"],
                row["after_digest"],
                row["written_at"],
                writes,
            )
        return sorted(out.values(), key=lambda t: (t.repository, t.tag))

    def images_of(self, run_id: str) -> list[ImageRow]:
        rows = self._query(
            "SELECT ref, platform, destination, action, digest, result FROM images WHERE run = ? ORDER BY rowid",
            (run_id,),
        )
        return [ImageRow(r["ref"], r["platform"], r["destination"], row_action(r["action"]), r["digest"], r["result"])
                for r in rows]

    def charts_of(self, run_id: str) -> list[ChartRow]:
        rows = self._query(
            "SELECT name, version, destination, action, result FROM charts WHERE run = ? ORDER BY rowid",
            (run_id,),
        )
        return [ChartRow(r["name"], r["version"], r["destination"], ChartAction(r["action"]), r["result"]) for r in rows]

    def last_writer(self, target: str, repository: str, tag: str, digest: str | None) -> RunRecord | None:
        """The newest run on ``target`` that moved ``repository:tag`` to ``digest``."""
        rows = self._query(
            "SELECT runs.id FROM tags JOIN runs ON runs.id = tags.run"
            " WHERE runs.target = ? AND tags.repository = ? AND tags.tag = ? AND tags.after_digest IS ?"
            " ORDER BY tags.rowid DESC LIMIT 1",
            (_description(target), repository, tag, digest),
        )
        return self.run(rows[0]["id"]) if rows else None

    def last_version_imported(self, target: str) -> str | None:
        """The newest package version of the latest finished import into ``target`` not rolled back."""
        rows = self._query(
            "SELECT packages FROM runs r WHERE target = ? AND kind = 'import' AND status = 'done'"
            " AND NOT EXISTS (SELECT 1 FROM runs b WHERE b.kind = 'rollback' AND b.parent = r.id AND b.status = 'done')"
            " ORDER BY started DESC, rowid DESC LIMIT 1",
            (_description(target),),
        )
        if not rows:
            return None
        versions = [str(p.get("version")) for p in json.loads(rows[0]["packages"]) if p.get("version")]
        return max(versions, key=version_key) if versions else None

    def imported_packages(self, target: str) -> dict[tuple[str, str], tuple[str, float]]:
        """Per ``(row, arch)`` (the version with its kind: :func:`core.package.naming.package_row`): the newest finished import into ``target`` not rolled back, as
        ``(run id, time it ended)``."""
        rows = self._query(
            "SELECT id, packages, ended FROM runs r WHERE target = ? AND kind = 'import' AND status = 'done'"
            " AND NOT EXISTS (SELECT 1 FROM runs b WHERE b.kind = 'rollback' AND b.parent = r.id AND b.status = 'done')"
            " ORDER BY started ASC, rowid ASC",
            (_description(target),),
        )
        pruned = self.pruned_runs(target)
        out: dict[tuple[str, str], tuple[str, float]] = {}
        for row in rows:  # oldest first: newer runs overwrite
            if row["id"] in pruned:
                continue
            for package in json.loads(row["packages"]):
                key = (package_row(str(package.get("kind", FULL)), str(package.get("version", ""))),
                       str(package.get("arch", "")))
                out[key] = (row["id"], float(row["ended"] or 0.0))
        return out

    def pruned_runs(self, target: str) -> set[str]:
        """The imports into ``target`` a finished prune (not rolled back) dropped."""
        rows = self._query(
            "SELECT options FROM runs r WHERE target = ? AND kind = 'prune' AND status = 'done'"
            " AND NOT EXISTS (SELECT 1 FROM runs b WHERE b.kind = 'rollback' AND b.parent = r.id AND b.status = 'done')",
            (_description(target),),
        )
        return {str(run) for row in rows for run in json.loads(row["options"]).get("runs") or []}

    def run_to_resume(self) -> RunRecord | None:
        """The newest import that stopped before it finished (interrupted by a signal or a dead process,
        or cancelled) and that no finished import into the same target followed; None if there is none."""
        rows = self._query(
            "SELECT * FROM runs r WHERE kind = ? AND status IN (?, ?, ?)"
            " AND NOT EXISTS (SELECT 1 FROM runs b WHERE b.target = r.target AND b.kind = ? AND b.status = ?"
            " AND b.started >= r.started AND b.id != r.id)"
            " ORDER BY started DESC, rowid DESC LIMIT 20",
            (RunKind.IMPORT, RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.INTERRUPTED, RunKind.IMPORT,
             RunStatus.DONE),
        )
        stopped = (RunStatus.CANCELLED, RunStatus.INTERRUPTED)
        return next((r for r in map(self._record, rows) if r.status in stopped), None)

    def _record(self, row: sqlite3.Row) -> RunRecord:
        status = RunStatus(row["status"])
        if status == RunStatus.RUNNING and not runlock.process_alive(row["pid"], row["pid_token"], row["host"]):
            status = RunStatus.INTERRUPTED
        counts = {
            table: self._query(f"SELECT COUNT(*) FROM {table} WHERE run = ?", (row["id"],))[0][0]
            for table in ("images", "charts", "tags")
        }
        return RunRecord(
            id=row["id"],
            kind=RunKind(row["kind"]),
            target=row["target"],
            packages=json.loads(row["packages"]),
            options=json.loads(row["options"]),
            started=row["started"],
            ended=row["ended"],
            status=status,
            counts={row_action(word): n for word, n in json.loads(row["counts"]).items()},
            bytes_uploaded=row["bytes_uploaded"],
            message=row["message"],
            parent=row["parent"],
            pid=row["pid"],
            host=row["host"],
            images=counts["images"],
            charts=counts["charts"],
            tags=counts["tags"],
        )


def _like_prefix(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text) + "%"


# -- history text -----------------------------------------------------------------------




def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def render_history(runs: list[RunRecord]) -> str:
    """Plain-text history: one block per run, newest first."""
    if not runs:
        return "No runs in the journal yet."
    blocks = []
    for r in runs:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started))
        took = f" ({_duration(r.ended - r.started)})" if r.ended else ""
        what = r.kind if not r.parent else f"{r.kind} of {r.parent}"
        lines = [f"{r.id}  {what}  {r.status.upper()}  {when}{took}  {r.target}"]
        for p in r.packages:
            lines.append(
                f"    package {p.get('name')}: {p.get('version')} {p.get('arch')}, checksum {p.get('checksum')}"
            )
        counts = ", ".join(f"{n} {action}" for action, n in sorted(r.counts.items()) if n)
        summary = f"    {r.images} images" + (f" ({counts})" if counts else "")
        if r.charts:
            summary += f", {r.charts} charts"
        summary += f", {r.tags} tag writes, {size_text(r.bytes_uploaded)} uploaded"
        lines.append(summary)
        if r.status == RunStatus.INTERRUPTED:
            lines.append(
                "    the process stopped before the run finished; run the same import again to continue."
            )
        if r.message:
            lines.append(f"    {r.message}")
        blocks.append(printable_lines(lines))
    return "\n".join(blocks)
