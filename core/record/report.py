"""The run report: what an import did, as Markdown for people and JSON for tools.

Written after every run into ``<state dir>/reports/<run id>.md`` and ``.json``. Secrets never
reach it: user info is cut from URLs and every secret the session knows is masked.
A later verification can be added to the same report (:func:`add_verify`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.kinds import VerifyStatus
from core.package.model import PackageIndex
from core.plan.results import ChartResult, ImageResult
from core.record.journal import package_entry
from core.secrets import mask_all
from core.units import size_text

if TYPE_CHECKING:
    from core.plan.results import RunSummary

REPORTS_DIR = "reports"


def report_paths(state_dir: Path | str, run_id: str) -> tuple[Path, Path]:
    """Where the Markdown and the JSON report of ``run_id`` go."""
    base = Path(state_dir) / REPORTS_DIR
    return base / f"{run_id}.md", base / f"{run_id}.json"


def build_report(
    summary: RunSummary,
    packages: Iterable[PackageIndex],
    target: str,
    *,
    started: float | None = None,
    verify: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict, from a run's summary (its image and chart results) and its packages."""
    ended = time.time()
    return {
        "run_id": summary.run_id,
        "status": summary.status,
        "target": target,
        "started_at": _iso(started if started is not None else ended - summary.seconds),
        "ended_at": _iso(ended),
        "duration_seconds": round(summary.seconds, 3),
        "bytes_uploaded": summary.bytes_uploaded,
        "peak_spool": summary.peak_spool,
        "counts": dict(summary.counts),
        "failures": list(summary.failures),
        "packages": [_package(p) for p in packages],
        "images": [_image(i) for i in summary.images],
        "charts": [_chart(c) for c in summary.charts],
        "verify": verify,
    }


_IMAGE_KEYS = ("ref", "destination", "platform", "action", "platforms_before", "platforms_after", "digest")
_CHART_KEYS = ("name", "version", "repo", "destination", "action", "digest")


def _image(result: ImageResult) -> dict[str, Any]:
    return _entry(result, _IMAGE_KEYS, tag_digest=result.tag_after, upload_bytes=result.upload_bytes)


def _chart(result: ChartResult) -> dict[str, Any]:
    return _entry(result, _CHART_KEYS)


def _entry(result: ImageResult | ChartResult, keys: tuple[str, ...], **more: object) -> dict[str, Any]:
    """The report's entry for a result: ``keys`` of it (tuples as lists), ``more``, and its error if any."""
    data = dataclasses.asdict(result)
    entry: dict[str, Any] = {key: list(data[key]) if isinstance(data[key], tuple) else data[key] for key in keys}
    entry.update(more)
    if result.error:
        entry["error"] = result.error
    return entry


def _package(package: PackageIndex) -> dict[str, Any]:
    entry = package_entry(package)
    return {k: entry[k] for k in ("name", "path", "kind", "version", "arch", "size", "checksum", "sha512")}


def write_report(state_dir: Path | str, report: dict[str, Any], secrets: Iterable[str] = ()) -> tuple[Path, Path]:
    """Write the report (secrets masked) as Markdown and JSON; return both paths."""
    clean = mask_all(report, secrets)
    md_path, json_path = report_paths(state_dir, str(report["run_id"]))
    md_path.parent.mkdir(parents=True, exist_ok=True)
    _write(json_path, json.dumps(clean, indent=2, sort_keys=True) + "\n")
    _write(md_path, render_markdown(clean))
    return md_path, json_path


def add_verify(
    json_path: Path | str, verify: dict[str, Any], secrets: Iterable[str] = (), *, key: str = "verify"
) -> tuple[Path, Path]:
    """Put a verification result (``VerifyReport.to_json()``; with ``key="sites"``, the matrix of a verify
    across sites, ``SitesReport.to_json()``) into an existing report; rewrite both files."""
    path = Path(json_path)
    report = json.loads(path.read_text(encoding="utf-8"))
    report[key] = verify
    return write_report(path.parent.parent, report, secrets)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))




def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _platforms(items: list[str]) -> str:
    return ", ".join(items) or "–"


def render_markdown(report: dict[str, Any]) -> str:
    """The report for people: header, packages, images, charts, failures, verification."""
    counts = ", ".join(f"{n} {a}" for a, n in sorted(report["counts"].items())) or "nothing to do"
    lines = [
        f"# archfuse import {report['run_id']}: {report['status']}",
        "",
        f"- Target: {report['target']}",
        f"- Started: {report['started_at']}, ended: {report['ended_at']} ({report['duration_seconds']:.1f} s)",
        f"- Images: {len(report['images'])} ({counts}); charts: {len(report['charts'])}",
        f"- Uploaded: {size_text(report['bytes_uploaded'])}",
        "",
        "## Packages",
        "",
        "| package | version | arch | size | checksum | sha512 |",
        "|---|---|---|---|---|---|",
    ]
    for p in report["packages"]:
        sha = p.get("sha512") or ""
        lines.append(
            f"| {_cell(p['name'])} | {_cell(p['version'])} | {_cell(p['arch'])} | {size_text(p['size'])} "
            f"| {p['checksum']} | {sha[:16] + '…' if sha else '–'} |"
        )
    lines += [
        "",
        "## Images",
        "",
        "| destination | platform | action | platforms before → after | digest |",
        "|---|---|---|---|---|",
    ]
    for i in report["images"]:
        lines.append(
            f"| {_cell(i['destination'])} | {i['platform']} | {i['action']} "
            f"| {_platforms(i['platforms_before'])} → {_platforms(i['platforms_after'])} | `{i['digest']}` |"
        )
    if report["charts"]:
        lines += ["", "## Charts", "", "| chart | version | action | destination |", "|---|---|---|---|"]
        for c in report["charts"]:
            lines.append(f"| {_cell(c['name'])} | {_cell(c['version'])} | {c['action']} | {_cell(c['destination'])} |")
    if report["failures"]:
        lines += ["", "## Failures", ""]
        lines += [f"- {_cell(f)}" for f in report["failures"]]
    verify = report.get("verify")
    if verify is not None:
        images = verify.get("images", [])
        charts = verify.get("charts", [])
        bad = [x for x in images + charts if x.get("status") != VerifyStatus.OK]
        total = len(images) + len(charts)
        lines += ["", "## Verification", "", f"{total - len(bad)}/{total} ok" + ("" if verify.get("ok") else ":")]
        lines += [
            f"- [{x.get('status')}] {_cell(x.get('destination', ''))} {x.get('platform', '')}: {_cell(x.get('detail', ''))}"
            for x in bad
        ]
    lines += _sites_section(report.get("sites"))
    return "\n".join(lines) + "\n"


def _sites_section(sites: dict[str, Any] | None) -> list[str]:
    """The site x tag x platform matrix of the last verify across sites, as a Markdown table."""
    if not sites:
        return []
    names = [str(n) for n in sites.get("sites", [])]
    lines = ["", "## Sites", "", f"{'every cell ok' if sites.get('ok') else 'not every cell ok'} "
             f"({len(names)} site(s); the first is the hub)", "",
             "| tag | platform | " + " | ".join(_cell(n) for n in names) + " |",
             "|---|---|" + "---|" * len(names)]
    for row in sites.get("matrix", []):
        cells = row.get("sites", {})
        lines.append(f"| {_cell(row.get('tag', ''))} | {_cell(row.get('platform', ''))} | "
                     + " | ".join(_cell(cells.get(n, "")) for n in names) + " |")
    lines += [f"- [{f.get('status')}] {_cell(f.get('site', ''))}: {_cell(f.get('tag', ''))} {f.get('platform', '')}: "
              f"{_cell(f.get('detail', ''))}" for f in sites.get("faults", [])]
    return lines
