"""Where archfuse keeps its state: the journal and the scan cache."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def state_dir(override: str | Path | None = None) -> Path:
    """``--state-dir``, else ``$ARCHFUSE_STATE_DIR``, else the user state dir; created if missing."""
    chosen = override or os.environ.get("ARCHFUSE_STATE_DIR") or platformdirs.user_state_dir("archfuse")
    path = Path(chosen).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
