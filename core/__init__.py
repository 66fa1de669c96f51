"""archfuse engine: headless, never imports textual or rich."""

from __future__ import annotations

#: the one place the version is written: pyproject.toml reads it, ``archfuse --version`` prints it
#: and the offline bundle (scripts/offline-bundle) is named after it
__version__ = "0.1.0"
