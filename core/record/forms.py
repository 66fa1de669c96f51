"""What the Target form held, per target, so a restart (after a dropped SSH session) need not retype it.

``<state>/forms.json``: ``{"last": TARGET, "targets": {TARGET: {field: value}}}``, TARGET as the
journal names it. Never a secret: a field whose name says it is one (``password``) is not kept,
nor a field whose value holds one of the secrets given (a password typed into the wrong field).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Union

from core.record import faults
from core.record.journal import target_name
from core.secrets import is_secret_name

FILE_NAME = "forms.json"
Value = Union[str, bool, int, float]


def remember_form(state_dir: Path, target: str, fields: Mapping[str, object], secrets: Iterable[str] = ()) -> None:
    """Keep ``fields`` as the form of ``target`` (and ``target`` as the last one used); secrets left out.

    A StateError names the file when it cannot be written.
    """
    known = [s for s in secrets if s]
    kept: dict[str, Value] = {
        name: value
        for name, value in fields.items()
        if isinstance(value, (str, bool, int, float))
        and not is_secret_name(name)
        and not (isinstance(value, str) and any(s in value for s in known))
    }
    path = state_dir / FILE_NAME
    data = _read(path)
    key = target_name(target)
    data["targets"][key] = kept
    data["last"] = key
    part = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        os.replace(part, path)
    except OSError as err:
        raise faults.state_fault(path, err, what="the form memory") from None


def recall_form(state_dir: Path, target: str | None = None) -> dict[str, Value]:
    """The form kept for ``target`` (or for the last target used); empty when none or unreadable."""
    data = _read(state_dir / FILE_NAME)
    key = target_name(target) if target else data.get("last")
    form = data["targets"].get(key) if isinstance(key, str) else None
    return dict(form) if isinstance(form, dict) else {}


def _read(path: Path) -> dict[str, Any]:
    """The file's content, or an empty memory when it is missing or damaged (it only saves typing)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("targets"), dict):
        data = {"targets": {}}
    return data
