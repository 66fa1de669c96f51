"""Render every screen of the TUI from a demo run into screenshots/ (SVG, plus PNG when possible).

The demo packages and the OCI layout go in a temp dir, named relatively, so no machine path
shows in the pictures. PNGs need librsvg and cairo (scripts/svg2png.py); without them only
the SVGs are written.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.demo.samples import write_demo_set  # noqa: E402
from tui.app import create_app  # noqa: E402
from tui.tour import walk  # noqa: E402

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


async def shoot(out: Path, size: tuple[int, int], suffix: str) -> list[Path]:
    app = create_app([Path("pk")], "state", "layout", blink=False)
    written = []
    async with app.run_test(size=size) as pilot:
        number = 0
        async for stop in walk(pilot):
            number += 1
            name = f"{number:02d}-{stop}{suffix}.svg"
            app.save_screenshot(name, str(out))
            written.append(out / name)
    return written


def main() -> int:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.svg"):
        old.unlink()
    for old in out.glob("*.png"):
        old.unlink()
    here = os.getcwd()
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="archfuse-shots-") as tmp:
        os.chdir(tmp)
        try:
            for label, size in SIZES.items():
                for sub in ("pk", "layout", "state"):
                    shutil.rmtree(sub, ignore_errors=True)  # a fresh demo run for each size
                write_demo_set(Path("pk"))
                written += asyncio.run(shoot(out, size, "" if label == "80x24" else f"-{label}"))
        finally:
            os.chdir(here)
    sys.path.insert(0, str(ROOT / "scripts"))
    from svg2png import _libs, convert

    if _libs() is None:
        print("screenshots: librsvg/cairo not found; wrote SVG only.", file=sys.stderr)
    else:
        for svg in written:
            convert(str(svg), str(svg.with_suffix(".png")))
    for path in sorted(out.iterdir()):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
