"""The CLI's plain and --json faces of the live run events: stages, stalls, retries."""

from __future__ import annotations

import io
import json
import time

from core import events as ev
from core.kinds import ImageStage
from tui.format import QUIET
from tui.render import JsonRenderer, PlainRenderer, progress_text
from tui.widgets.progress import Transfer

DEST = "registry.example:5000/ingress-nginx/controller:v1.9.0"


def image(stage: ImageStage, done: int = 0) -> ev.ImageProgress:
    return ev.ImageProgress(DEST, "linux/amd64", stage, done, 4 << 20)


#: when the retries of the examples give up, and how the faces write it (local time)
UNTIL = 2_000_000_000.0
UNTIL_TEXT = time.strftime("%H:%M:%S", time.localtime(UNTIL))


def test_plain_prints_stage_starts_once_retries_and_stalls() -> None:
    out, err = io.StringIO(), io.StringIO()
    plain = PlainRenderer(out, err)
    for event in (
        image(ImageStage.QUEUED),
        image(ImageStage.UPLOADING),
        image(ImageStage.UPLOADING, 1 << 20),  # bytes only: no second line
        ev.Retrying("registry.example:5000", "an upload of blob sha256:ab", "connection broke", 2, UNTIL, 0.3),
        ev.Stalled(5.0, "2 uploads to https://registry.example:5000 in flight"),
        ev.Stalled(6.0, "2 uploads to https://registry.example:5000 in flight"),  # repeated: quiet
        ev.Stalled(15.0, "2 uploads to https://registry.example:5000 in flight"),
        image(ImageStage.MANIFESTS, 4 << 20),  # only with --verbose
    ):
        plain(event)
    assert err.getvalue().splitlines() == [
        f"  uploading  {DEST} linux/amd64 (4.0 MiB)",
        f"retrying registry.example:5000: connection broke, try 2; waiting for it until {UNTIL_TEXT}",
        "no progress for 5 s — 2 uploads to https://registry.example:5000 in flight",
        "no progress for 15 s — 2 uploads to https://registry.example:5000 in flight",
    ]
    assert out.getvalue() == ""


def test_json_keeps_every_stage_change_and_coalesces_bytes() -> None:
    out = io.StringIO()
    face = JsonRenderer(out, interval=3600)
    for event in (image(ImageStage.UPLOADING), image(ImageStage.UPLOADING, 1), image(ImageStage.UPLOADING, 2),
                  image(ImageStage.MANIFESTS, 4 << 20), image(ImageStage.FUSING, 4 << 20)):
        face(event)
    face(ev.Retrying("registry.example:5000", "a tag", "HTTP 503", 3, UNTIL, 1.0))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["event"], e.get("stage")) for e in lines] == [
        ("image_progress", "uploading"), ("image_progress", "manifests"), ("image_progress", "fusing"), ("retrying", None)
    ]
    assert lines[0] == {
        "at": lines[0]["at"], "destination": DEST, "platform": "linux/amd64", "stage": "uploading",
        "bytes_done": 0, "bytes_total": 4 << 20, "event": "image_progress",
    }
    assert lines[-1]["attempt"] == 3 and lines[-1]["until"] == UNTIL and lines[-1]["reason"] == "HTTP 503"


def test_a_stall_clears_the_rate_and_the_eta_instead_of_showing_the_window_s_old_figure() -> None:
    """Five seconds without a byte moved: the rate is unknown and no ETA is given (TUI and plain
    faces both read RateWindow); moving again brings them back."""
    transfer = Transfer()
    for second in range(5):  # 10 MiB a second
        transfer.update(ev.BytesProgress(second * 10 << 20, 100 << 20).stamped(1000.0 + second))
    assert "10.0 MiB/s" in transfer.text() and "left" in transfer.text()
    for second in range(5, 12):  # heartbeats while the registry is paused
        transfer.update(ev.BytesProgress(40 << 20, 100 << 20).stamped(1000.0 + second))
        quiet = second - 4
        assert ("time left unknown" in transfer.text()) == (quiet >= QUIET), (second, transfer.text())
    transfer.update(ev.BytesProgress(50 << 20, 100 << 20).stamped(1012.0))
    assert "time left unknown" not in transfer.text()


def test_the_eta_counts_the_work_after_the_last_byte() -> None:
    """The engine's estimate of the manifests, tags and verify after the bytes is in the ETA of both faces."""
    transfer = Transfer()
    for second in range(3):  # 10 MiB a second, 80 MiB left: 8 s, plus 2 minutes of tags
        transfer.update(ev.BytesProgress(second * 10 << 20, 100 << 20, after_seconds=120.0).stamped(1000.0 + second))
    assert "2 minutes left" in transfer.text()
    line = progress_text(ev.BytesProgress(20 << 20, 100 << 20, after_seconds=120.0), 2.0, 10 << 20)
    assert line.endswith("ETA 2 minutes")
