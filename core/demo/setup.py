"""The embedded default: sample packages and an OCI layout target, ready for the TUI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.demo.samples import write_demo_set
from core.record.state import state_dir as default_state_dir


@dataclass(frozen=True)
class Demo:
    packages: list[Path]
    layout: Path


def prepare_demo(where: Path | None = None, *, state_dir: str | Path | None = None) -> Demo:
    """Write the demo packages (once) under ``where`` (default ``<state dir>/demo``)."""
    root = Path(where) if where else default_state_dir(state_dir) / "demo"
    packages_dir = root / "packages"
    existing = sorted(packages_dir.glob("*.tar.gz"))
    if not existing:
        packages_dir.mkdir(parents=True, exist_ok=True)
        existing = sorted(write_demo_set(packages_dir))
    return Demo(packages=existing, layout=root / "layout")
