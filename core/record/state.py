"""Where archfuse keeps its state: the journal and the scan cache."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from core.record.faults import ensure_dir


def state_dir(override: str | Path | None = None) -> Path:
    """``--state-dir``, else ``$ARCHFUSE_STATE_DIR``, else the user state dir; created if missing."""
    chosen = override or os.environ.get("ARCHFUSE_STATE_DIR") or platformdirs.user_state_dir("archfuse")
    return ensure_dir(Path(chosen).expanduser())
