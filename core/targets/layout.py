"""An OCI image layout directory as a target: the embedded default, no server needed.

On disk (the OCI image layout spec)::

    PATH/oci-layout              {"imageLayoutVersion": "1.0.0"}
    PATH/index.json              an OCI index; one entry per tag
    PATH/blobs/sha256/<hex>      every blob, manifest and index, content-addressed
    PATH/.archfuse-tmp/          blobs being written (ignored by other tools, cleaned up)

**Tags.** Every repository shares the one ``index.json``. A tag is an entry whose
``org.opencontainers.image.ref.name`` annotation is ``<repository>:<tag>``, e.g.
``metrics-server/metrics-server:v0.6.2``. skopeo and other containers/image tools split
``oci:PATH:REF`` at the first colon, so that name is read with
``skopeo inspect oci:PATH:metrics-server/metrics-server:v0.6.2`` (which is also why a layout
path may not contain ``:``). The OCI ref grammar is stricter than docker's tag grammar: a tag
with two separators in a row (``a__b``, ``a._b``) is stored but skopeo refuses to read it.

**Docker manifests.** containers/image resolves a ref name only to an entry whose media type
is an OCI manifest or index (checked against skopeo 1.9 and the current source). So a tag
whose content is a Docker v2s2 manifest or manifest list is stored twice: the Docker bytes as
written (a blob, what :meth:`LayoutTarget.get_manifest` returns, so fusion sees exactly what it
wrote and re-runs are no-ops), and their OCI form (:mod:`core.targets.oci_form`: same document,
OCI media types, children converted) which the ``index.json`` entry points at, with annotations
``io.archfuse.manifest.digest``/``io.archfuse.manifest.mediaType`` naming the Docker manifest.
Every descriptor stays truthful; skopeo reads (and copies on) the OCI form.

**Repositories** are a naming scheme only: there is one blob store, so a blob present for
one repository is present for all, and ``mount_blob`` is true whenever the blob exists.
Manifests stored by digest (the per-platform children of an index) are plain blobs.

**Host.** :attr:`LayoutTarget.host` is the layout path as given. Chart values relocated for
a layout target therefore read ``<path>/<repository>:<tag>``; such charts are meant to be
copied on with the images (``skopeo copy --all oci:PATH:REF docker://...``), not installed
from the layout.

**Safety.** A blob is streamed into a temp file under ``.archfuse-tmp/``, size and digest
checked, fsynced and renamed into ``blobs/sha256/``: a killed run never leaves a partial
blob under its digest. ``index.json`` is rewritten to a temp file and renamed, under an
``fcntl`` lock on ``index.json.lock``, so concurrent writers (threads or processes) never
lose each other's tags and readers never see a half-written index.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import os
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from core.errors import DigestMismatch, LayoutError, NotFound
from core.oci import mediatypes as mt
from core.oci.digest import hex_of, is_digest, sha256_digest
from core.oci.manifest import ManifestRef, canonical_json
from core.safeload import MAX_DEPTH, DocumentError, TooDeep, load_json
from core.targets.base import Progress
from core.targets.oci_form import needs_oci_form, oci_form

REF_NAME = "org.opencontainers.image.ref.name"
#: on a tag stored in its OCI form: the digest and media type of the manifest archfuse wrote
SOURCE_DIGEST = "io.archfuse.manifest.digest"
SOURCE_MEDIA_TYPE = "io.archfuse.manifest.mediaType"
LAYOUT_VERSION = "1.0.0"
TMP_DIR = ".archfuse-tmp"
LOCK_FILE = "index.json.lock"
_CHUNK = 1 << 20
#: a temp file younger than this is never cleaned: its writer may not have locked it yet
STALE_AFTER = 60.0


@dataclass(frozen=True)
class LayoutRef:
    """One tag of a layout: ``repository:tag`` and the manifest it points at."""

    repository: str
    tag: str
    digest: str  # the manifest archfuse wrote (what get_manifest returns)
    media_type: str
    oci_digest: str  # what index.json points at (what skopeo reads); == digest unless converted

    @property
    def name(self) -> str:
        """The ``org.opencontainers.image.ref.name`` value (``repository:tag``)."""
        return ref_name(self.repository, self.tag)


def ref_name(repository: str, tag: str) -> str:
    """The ref-name annotation for a tag of a repository: ``repository:tag``."""
    return f"{repository}:{tag}" if repository else tag


def split_ref_name(name: str) -> tuple[str, str]:
    """``("repo/path", "tag")`` from a ref name; a name without ``:`` is a bare tag."""
    repository, sep, tag = name.rpartition(":")
    if not sep:
        return "", name
    return repository, tag


def list_refs(path: Path) -> list[LayoutRef]:
    """Every tag of the layout at ``path``, sorted by name; empty when there is no layout yet."""
    index_path = Path(path) / "index.json"
    if not index_path.exists():
        return []
    out = []
    for entry in _read_index(index_path).get("manifests", []):
        name = (entry.get("annotations") or {}).get(REF_NAME)
        if not isinstance(name, str):
            continue
        repository, tag = split_ref_name(name)
        annotations = entry.get("annotations") or {}
        oci_digest = str(entry.get("digest", ""))
        digest = str(annotations.get(SOURCE_DIGEST) or oci_digest)
        media_type = str(annotations.get(SOURCE_MEDIA_TYPE) or entry.get("mediaType", ""))
        out.append(LayoutRef(repository, tag, digest, media_type, oci_digest))
    return sorted(out, key=lambda r: (r.repository, r.tag))


def _read_index(index_path: Path) -> dict[str, Any]:
    """The layout's ``index.json``, read through the bounded loader (another tool may have written it)."""
    try:
        doc = load_json(index_path.read_bytes())
    except OSError as exc:
        raise LayoutError(f"Cannot read {index_path}: {exc.strerror or exc}.") from exc
    except TooDeep:
        raise LayoutError(
            f"{index_path} nests deeper than {MAX_DEPTH} levels, which no OCI image index does.",
            hint="Restore it or point archfuse at another directory.",
        ) from None
    except DocumentError as exc:
        raise LayoutError(
            f"{index_path} {exc}.",
            hint="Restore it or point archfuse at another directory.",
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests", []), list):
        raise LayoutError(f"{index_path} is not an OCI image index.")
    return doc


class _Index:
    """A parsed ``index.json`` with its entries by ref name: finding and replacing a tag is O(1).

    Entries keep their order (a replaced tag moves to the end, as it always did) and duplicated or
    unnamed entries of other tools are kept as they are.
    """

    def __init__(self, doc: dict[str, Any]) -> None:
        self.top = {k: v for k, v in doc.items() if k != "manifests"}
        self.entries: list[dict[str, Any] | None] = list(doc.get("manifests", []))
        self.where: dict[str, list[int]] = {}
        self.changed = False
        for i, entry in enumerate(self.entries):
            name = _name_of(entry)
            if name is not None:
                self.where.setdefault(name, []).append(i)

    def find(self, name: str) -> dict[str, Any] | None:
        """The entry of a tag (the last one, should another tool have duplicated it), or None."""
        slots = self.where.get(name)
        return self.entries[slots[-1]] if slots else None

    def put(self, name: str, entry: dict[str, Any]) -> None:
        """Point ``name`` at ``entry``: every old entry of that name goes, the new one is appended."""
        self.remove(name)
        self.where[name] = [len(self.entries)]
        self.entries.append(entry)
        self.changed = True

    def remove(self, name: str) -> bool:
        """Drop every entry of ``name``; False when there was none."""
        slots = self.where.pop(name, [])
        for i in slots:
            self.entries[i] = None
        self.changed = self.changed or bool(slots)
        return bool(slots)

    def doc(self) -> dict[str, Any]:
        return {**self.top, "manifests": [e for e in self.entries if e is not None]}

    def copy(self) -> _Index:
        out = _Index({})
        out.top, out.entries = dict(self.top), list(self.entries)
        out.where = {name: list(slots) for name, slots in self.where.items()}
        return out


def _name_of(entry: object) -> str | None:
    name = (entry.get("annotations") or {}).get(REF_NAME) if isinstance(entry, dict) else None
    return name if isinstance(name, str) else None


def _identity(path: Path) -> tuple[int, ...] | None:
    """What changes whenever ``index.json`` is replaced (it is always replaced, never edited in place)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _media_type_of(data: bytes) -> str:
    """The media type a manifest's bytes declare (or imply, for OCI documents without one)."""
    try:
        doc = load_json(data)
    except DocumentError:
        return ""
    if not isinstance(doc, dict):
        return ""
    declared = doc.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if "manifests" in doc:
        return mt.OCI_INDEX
    if "config" in doc:
        return mt.OCI_MANIFEST
    return ""


class LayoutTarget:
    """The :class:`core.targets.base.Target` protocol on an OCI image layout directory."""

    deletes_tags = True

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.host = str(path)
        self.description = f"oci:{path}"
        self._blobs = self.path / "blobs" / "sha256"
        self._tmp = self.path / TMP_DIR
        self._index = self.path / "index.json"
        self._ready = False
        self._mutex = threading.RLock()
        self._lock_depth = 0
        self._lock_fd: int | None = None
        #: index.json as last read or written, by the file identity it had then (core of O(1) lookups)
        self._cached: tuple[tuple[int, ...], _Index] | None = None
        #: inside batch_tags(): the index the tag writes go to, stored once when the batch ends
        self._batch: _Index | None = None
        self._batch_fd: int | None = None

    # -- setup ---------------------------------------------------------------------------

    def prepare(self, reads: Collection[str], writes: Collection[str]) -> None:
        """Nothing to get ready: a layout has no tokens."""

    def ping(self) -> None:
        """Check the layout can be used: a layout, or a new or empty directory, and writable.

        Creates nothing (a plan writes nothing); the layout is made on the first write.
        """
        path = self.path
        if path.exists():
            self._check_existing()
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            raise LayoutError(
                f"Cannot create the OCI layout directory {path}: {probe} is a file.",
                hint="Choose another directory.",
            )
        if not os.access(probe, os.W_OK | os.X_OK):
            raise LayoutError(
                f"The OCI layout directory {path} is not writable ({probe} does not let this user write).",
                hint="Fix its permissions or choose another directory.",
            )
        if (path / TMP_DIR).is_dir():
            self.clean_temp()

    def check_push(self, repositories: list[str]) -> str:
        """Nothing to prove beyond :meth:`ping`: a writable directory takes every repository."""
        return f"{self.description} is writable."

    def create(self) -> None:
        """Create the layout now (a run does it on its first write)."""
        self._ensure()

    def _check_existing(self) -> None:
        """Refuse a file, a directory that is neither empty nor a layout, or another layout version."""
        path = self.path
        if not path.is_dir():
            raise LayoutError(f"{path} is a file, not an OCI layout directory.", hint="Choose a directory.")
        marker = path / "oci-layout"
        if not marker.exists():
            if any(p.name not in ("blobs", TMP_DIR, "index.json", LOCK_FILE) for p in path.iterdir()):
                raise LayoutError(
                    f"{path} is neither empty nor an OCI image layout (it has no oci-layout file).",
                    hint="Choose a new or empty directory.",
                )
            return
        try:
            version = load_json(marker.read_bytes()).get("imageLayoutVersion")
        except (OSError, DocumentError, AttributeError) as exc:
            raise LayoutError(f"{marker} is not a valid oci-layout file.") from exc
        if version != LAYOUT_VERSION:
            raise LayoutError(
                f"{path} is an OCI layout of version {version!r}; archfuse writes {LAYOUT_VERSION}."
            )

    def _ensure(self) -> None:
        """Create the layout (``oci-layout``, ``blobs/``, an empty ``index.json``) on the first write.

        Under the layout lock, so concurrent writers (threads or processes) see it whole.
        """
        if self._ready:
            return
        path = self.path
        if path.exists() and not path.is_dir():
            self._check_existing()  # a file: the clear error, before the lock tries to mkdir it
        marker = path / "oci-layout"
        try:
            with self.locked():
                if self._ready:
                    return
                self._check_existing()
                self._blobs.mkdir(parents=True, exist_ok=True)
                self._tmp.mkdir(exist_ok=True)
                if not marker.exists():
                    self._atomic_write(marker, canonical_json({"imageLayoutVersion": LAYOUT_VERSION}))
                if not self._index.exists():
                    self._write_index({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []})
                self._ready = True
        except LayoutError:
            raise
        except OSError as exc:
            raise LayoutError(
                f"Cannot create the OCI layout directory {path}: {exc.strerror or exc}.",
                hint="Check the path and its permissions, or choose another directory.",
            ) from exc

    def clean_temp(self, older_than: float = STALE_AFTER) -> int:
        """Remove temp files of killed runs (old, and locked by no live writer); return how many."""
        removed = 0
        if not self._tmp.is_dir():
            return 0
        now = time.time()
        for entry in self._tmp.iterdir():
            try:
                if now - entry.lstat().st_mtime < older_than:
                    continue
                fd = os.open(entry, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # a live writer holds it
                continue
            try:
                entry.unlink()
                removed += 1
            except OSError:
                pass
            finally:
                os.close(fd)
        return removed

    def close(self) -> None:
        """Nothing is held between calls."""

    # -- locking -------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the layout's index lock (re-entrant): a read-merge-write of tags inside is atomic."""
        with self._mutex:
            if self._lock_depth == 0 and self._batch_fd is None:  # a batch holds the file lock already
                self._lock_fd = self._lock_file()
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
                if self._lock_depth == 0 and self._lock_fd is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                    os.close(self._lock_fd)
                    self._lock_fd = None

    def _lock_file(self) -> int:
        """Open and lock ``index.json.lock`` (blocking): the open descriptor holding the lock."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd

    @contextlib.contextmanager
    def batch_tags(self) -> Iterator[bool]:
        """Tag writes (and deletes) inside go to ``index.json`` in one rewrite when the batch ends.

        Rewriting the whole index per tag made an import of one image under thousands of tags
        quadratic. Inside, reads see the batch's writes; the index lock is held throughout, so no
        other writer's tags are lost; what was written is stored even when the body fails (as each
        tag would have been). Yields True: the writes are deferred until the batch ends.
        """
        self._ensure()
        with self._mutex:
            if self._batch is not None:  # nested: the outer batch stores it all
                yield True
                return
            self._batch_fd = self._lock_file()  # not inside locked(): that holds the lock on another descriptor
            try:
                self._batch = self._load()
            except BaseException:
                self._end_batch()
                raise
        try:
            yield True
        finally:
            with self._mutex:
                try:
                    batch = self._batch
                    self._batch = None
                    if batch is not None and batch.changed:
                        self._store(batch)
                finally:
                    self._end_batch()

    def _end_batch(self) -> None:
        self._batch = None
        if self._batch_fd is not None:
            fcntl.flock(self._batch_fd, fcntl.LOCK_UN)
            os.close(self._batch_fd)
            self._batch_fd = None

    # -- blobs ---------------------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise LayoutError(f"{digest!r} is not a sha256 digest.")
        return self._blobs / hex_of(digest)

    def blob_exists(self, repository: str, digest: str) -> bool:
        """True when the blob is in the layout (every repository shares the one blob store)."""
        return self._blob_path(digest).is_file()

    def blob_size(self, repository: str, digest: str) -> int | None:
        """The blob's size in the layout, None when it is not there."""
        path = self._blob_path(digest)
        return path.stat().st_size if path.is_file() else None

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """One blob store: a blob present anywhere is present everywhere."""
        return self.blob_exists(repository, digest)

    def put_blob(
        self, repository: str, digest: str, size: int, stream: BinaryIO, progress: Progress | None = None
    ) -> None:
        """Read ``size`` bytes from ``stream``; store them under ``digest`` once size and digest check."""
        final = self._blob_path(digest)
        self._ensure()
        if final.is_file():
            # Consume the stream all the same (callers stream archives) and still check it.
            self._consume(digest, size, stream, progress, None)
            return
        self._write_through_temp(
            final,
            lambda out: self._consume(digest, size, stream, progress, out),
            prefix=f"{hex_of(digest)[:16]}-",
            what=f"Cannot write blob {digest} into {self.path}",
        )

    def _consume(
        self, digest: str, size: int, stream: BinaryIO, progress: Progress | None, out: BinaryIO | None
    ) -> None:
        hasher = hashlib.sha256()
        remaining = size
        while remaining > 0:
            chunk = stream.read(min(_CHUNK, remaining))
            if not chunk:
                raise DigestMismatch(
                    f"Blob {digest} ended after {size - remaining} of {size} bytes; nothing was stored."
                )
            hasher.update(chunk)
            if out is not None:
                out.write(chunk)
            remaining -= len(chunk)
            if progress is not None:
                progress(len(chunk))
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            raise DigestMismatch(f"Blob {digest} has the digest {actual}; it was not stored in {self.path}.")

    def get_blob(self, repository: str, digest: str, max_size: int = 16 << 20) -> bytes:
        """A small blob's bytes, digest checked."""
        path = self._blob_path(digest)
        try:
            size = path.stat().st_size
            if size > max_size:
                raise LayoutError(
                    f"Blob {digest} in {self.path} is {size} bytes, over the {max_size} read limit."
                )
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"Blob {digest} is not in the OCI layout {self.path}.", status=404) from exc
        except OSError as exc:
            raise self._io_error(f"Cannot read blob {digest} from {self.path}", exc) from exc
        if sha256_digest(data) != digest:
            raise DigestMismatch(f"Blob {digest} in {self.path} is corrupt (its content has another digest).")
        return data

    def _temp_file(self, prefix: str) -> tuple[int, Path]:
        """A new temp file in the layout's temp dir, locked so clean_temp() leaves it alone."""
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix=prefix)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd, Path(name)

    def _write_blob_bytes(self, digest: str, data: bytes) -> None:
        self.put_blob("", digest, len(data), io.BytesIO(data))

    # -- manifests and tags --------------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> ManifestRef | None:
        """The manifest a tag or digest holds, or None.

        A tag stored in its OCI form reads back as the manifest archfuse wrote (see module doc).
        """
        if is_digest(reference):
            if not self.blob_exists(repository, reference):
                return None
            data = self.get_blob(repository, reference)
            return ManifestRef(data, _media_type_of(data), reference)
        with self._mutex:
            entry = self._current().find(ref_name(repository, reference))
        if entry is None:
            return None
        annotations = entry.get("annotations") or {}
        digest = str(annotations.get(SOURCE_DIGEST) or entry.get("digest", ""))
        media_type = str(annotations.get(SOURCE_MEDIA_TYPE) or entry.get("mediaType") or "")
        try:
            data = self.get_blob(repository, digest)
        except NotFound as exc:
            raise LayoutError(
                f"Tag {ref_name(repository, reference)} in {self.path} points at {digest}, which is missing."
            ) from exc
        return ManifestRef(data, media_type or _media_type_of(data), digest)

    def put_manifest(self, repository: str, reference: str, manifest: ManifestRef) -> None:
        """Store the manifest as a blob; for a tag, point ``repository:tag`` at it (replacing the old entry).

        Docker-typed content is tagged through its OCI form so skopeo can resolve the tag; the
        entry's annotations remember the Docker manifest, which is what get_manifest returns.
        """
        self._ensure()
        if is_digest(reference) and reference != manifest.digest:
            raise DigestMismatch(
                f"Manifest for {repository}@{reference} has the digest {manifest.digest}; it was not stored."
            )
        if sha256_digest(manifest.data) != manifest.digest:
            raise DigestMismatch(f"Manifest {manifest.digest} for {repository} does not match its bytes.")
        media_type = manifest.media_type or _media_type_of(manifest.data)
        manifest = ManifestRef(manifest.data, media_type, manifest.digest)
        self._store_manifest(manifest)
        if is_digest(reference):
            return
        name = ref_name(repository, reference)
        annotations = {REF_NAME: name}
        tagged = manifest
        if needs_oci_form(media_type):
            try:
                tagged, children = oci_form(manifest, lambda d: self.get_blob(repository, d))
            except NotFound as exc:
                raise LayoutError(
                    f"Cannot tag {name} in {self.path}: the manifest list refers to a manifest that is "
                    f"not stored ({exc})."
                ) from exc
            for child in children:
                self._store_manifest(child)
            self._store_manifest(tagged)
            annotations = {REF_NAME: name, SOURCE_DIGEST: manifest.digest, SOURCE_MEDIA_TYPE: media_type}
        entry = {
            "mediaType": tagged.media_type,
            "digest": tagged.digest,
            "size": tagged.size,
            "annotations": annotations,
        }
        with self.locked():
            index = self._batch or self._load()
            index.put(name, entry)
            if self._batch is None:
                self._store(index)

    def _store_manifest(self, manifest: ManifestRef) -> None:
        if not self.blob_exists("", manifest.digest):
            self._write_blob_bytes(manifest.digest, manifest.data)

    def delete_tag(self, repository: str, tag: str) -> bool:
        """Remove a tag (its blobs stay); False when it was not there."""
        name = ref_name(repository, tag)
        with self.locked():
            if self._batch is None and not self._index.exists():
                return False
            index = self._batch or self._load()
            if not index.remove(name):
                return False
            if self._batch is None:
                self._store(index)
            return True

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """A manifest stored by digest stays a blob until :meth:`collect_garbage` finds nothing uses it;
        True when it is there."""
        return self.blob_exists(repository, digest)

    def collect_garbage(self) -> tuple[int, int]:
        """Remove every blob no tag reaches (through its index, manifests, configs, layers, and the
        subject of a referrer); ``(blobs, bytes)`` removed. Holds the index lock: no tag moves meanwhile."""
        with self.locked():
            if not self._blobs.is_dir():
                return 0, 0
            roots: list[str] = []
            for entry in self._current().doc().get("manifests") or []:
                annotations = entry.get("annotations") or {}
                roots += [str(d) for d in (entry.get("digest"), annotations.get(SOURCE_DIGEST)) if d]
            reached = self._reach(roots)
            removed, size = 0, 0
            for path in self._blobs.iterdir():
                if f"sha256:{path.name}" in reached or not path.is_file():
                    continue
                try:
                    size += path.stat().st_size
                    path.unlink()
                except OSError as exc:
                    raise self._io_error(f"Cannot remove the unused blob {path}", exc) from exc
                removed += 1
            return removed, size

    def _reach(self, roots: list[str]) -> set[str]:
        """Every blob digest the manifests ``roots`` reach."""
        reached: set[str] = set()
        todo = list(roots)
        while todo:
            digest = todo.pop()
            if digest in reached or not is_digest(digest):
                continue
            reached.add(digest)
            if not self.blob_exists("", digest):
                continue
            try:
                doc = load_json(self.get_blob("", digest))
            except (DocumentError, TooDeep):
                continue
            if not isinstance(doc, dict):
                continue
            for desc in [*(doc.get("manifests") or []), doc.get("subject"), doc.get("config")]:
                if isinstance(desc, dict) and desc.get("digest"):
                    todo.append(str(desc["digest"]))
            reached.update(str(d.get("digest")) for d in doc.get("layers") or [] if isinstance(d, dict))
        return reached

    def refs(self) -> list[LayoutRef]:
        """Every tag of the layout."""
        return list_refs(self.path)

    def tags(self, repository: str) -> list[str]:
        """The tags of one repository."""
        return [r.tag for r in self.refs() if r.repository == repository]

    def _current(self) -> _Index:
        """What the tags are now, to read (not change): the batch's index inside one, else index.json."""
        if self._batch is not None:
            return self._batch
        if not self._index.exists():
            return _Index({})
        return self._parsed()

    def _parsed(self) -> _Index:
        """index.json, parsed again only when the file changed since it was last read or written."""
        identity = _identity(self._index)
        cached = self._cached
        if identity is None or cached is None or cached[0] != identity:
            cached = (identity or (), _Index(_read_index(self._index)))
            self._cached = cached if identity is not None else None
        return cached[1]

    def _load(self) -> _Index:
        """index.json as a private copy to change and store."""
        return self._parsed().copy()

    def _store(self, index: _Index) -> None:
        self._write_index(index.doc())
        identity = _identity(self._index)
        self._cached = (identity, index) if identity is not None else None

    def _write_index(self, doc: dict[str, Any]) -> None:
        self._atomic_write(self._index, canonical_json(doc))

    def _atomic_write(self, path: Path, data: bytes) -> None:
        self._write_through_temp(
            path, lambda out: out.write(data), prefix=f"{path.name}-", what=f"Cannot write {path}"
        )

    def _write_through_temp(
        self, path: Path, fill: Callable[[BinaryIO], object], *, prefix: str, what: str
    ) -> None:
        """Replace ``path`` atomically: ``fill`` writes a locked temp file, which is synced and renamed."""
        fd, tmp = self._temp_file(prefix)
        try:
            with os.fdopen(fd, "wb", closefd=False) as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        except OSError as exc:
            raise self._io_error(what, exc) from exc
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
            os.close(fd)

    def _io_error(self, what: str, exc: OSError) -> LayoutError:
        hint = "Free some space and run again." if exc.errno == errno.ENOSPC else None
        return LayoutError(f"{what}: {exc.strerror or exc}.", hint=hint)
