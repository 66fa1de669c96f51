"""Unfinished chunked uploads, remembered in the state dir so a killed run continues them.

A chunked upload (:class:`core.registry.client.RegistryClient`) notes its upload URL and the
offset the registry confirmed after every chunk, keyed by registry, repository and blob digest;
the next upload of that blob asks the registry for the upload's status (``GET``, the ``Range``)
and continues there when the registry still has it. The note is dropped once the blob is
complete. Upload URLs carry no credentials (the registry's own state token at most).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OpenUpload:
    """Where an unfinished upload was left: its URL and the bytes the registry confirmed."""

    location: str
    offset: int


class UploadMemo:
    """Notes of unfinished uploads, one small JSON file each in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, host: str, repository: str, digest: str) -> Path:
        key = hashlib.sha256(f"{host}/{repository}@{digest}".encode()).hexdigest()[:40]
        return self.directory / f"{key}.json"

    def recall(self, host: str, repository: str, digest: str) -> OpenUpload | None:
        """The upload left for this blob, or None (no note, or one that cannot be read)."""
        try:
            data = json.loads(self._path(host, repository, digest).read_text(encoding="utf-8"))
            return OpenUpload(str(data["location"]), int(data["offset"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remember(self, host: str, repository: str, digest: str, upload: OpenUpload) -> None:
        """Note (atomically) where the upload of this blob stands; a note that cannot be written is skipped."""
        path = self._path(host, repository, digest)
        text = json.dumps({"location": upload.location, "offset": upload.offset, "digest": digest})
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, path)

    def forget(self, host: str, repository: str, digest: str) -> None:
        """The blob is complete (or its upload is gone): drop the note."""
        with contextlib.suppress(OSError):
            self._path(host, repository, digest).unlink()
