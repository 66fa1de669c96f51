"""A content-addressed store of bundles' chart files, kept with the scan cache.

Charts are small; keeping them beside the scan index lets a plan (and a no-op re-run) relocate
and compare charts without reading a multi-gigabyte package again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path

from core.package.reader import BundleInfo, ChartFiles

STORE = "chart-files"


def _key(files: ChartFiles) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([files.bundle.member, files.hints]).encode())
    for name in sorted(files.files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files.files[name]).digest())
    return h.hexdigest()


def store_chart_files(state_dir: Path, files: ChartFiles) -> str:
    """Keep ``files`` in the store; returns its key (best effort: a failed write returns '')."""
    key = _key(files)
    path = state_dir / STORE / f"{key}.json"
    if path.exists():
        return key
    doc = {
        "bundle": [files.bundle.member, files.bundle.repo, files.bundle.chart, files.bundle.version],
        "hints": files.hints,
        "files": {name: base64.b64encode(data).decode() for name, data in sorted(files.files.items())},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # two packages read at once
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, path)
    except OSError:
        return ""
    return key


def load_chart_files(state_dir: Path, key: str) -> ChartFiles | None:
    """The chart files stored under ``key``, or None when they are not there (or damaged)."""
    if not key:
        return None
    try:
        doc = json.loads((state_dir / STORE / f"{key}.json").read_text())
        member, repo, chart, version = doc["bundle"]
        files = ChartFiles(
            BundleInfo(member, repo, chart, version),
            list(doc["hints"]),
            {name: base64.b64decode(data) for name, data in doc["files"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return files if _key(files) == key else None
