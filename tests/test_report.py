"""The run report: written after every import (Markdown + JSON), named by the CLI, free of secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from core.record.report import add_verify, build_report, render_markdown, write_report
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.registry import RegistryServer

PASSWORD = "Pw-Report-Secret-4711"


def test_import_writes_markdown_and_json_report_without_the_password(
    registry_factory: Callable[..., RegistryServer], demo_packages: list[Path], tmp_path: Path
) -> None:
    server = registry_factory(auth="htpasswd", password=PASSWORD)
    state = tmp_path / "state"
    v12 = sorted(str(p) for p in demo_packages if "v0.12.0" in p.name)
    assert len(v12) == 2
    done = archfuse("import", *v12, *registry_args(server), "--yes", "--json", state_dir=state, password=PASSWORD)
    assert done.code == 0, done.err
    event = done.last("report")
    md, js = Path(event["markdown"]), Path(event["json"])
    run_id = done.last("run_finished")["run_id"]
    assert md == state / "reports" / f"{run_id}.md" and js == state / "reports" / f"{run_id}.json"
    report = json.loads(js.read_text())
    assert report["run_id"] == run_id and report["status"] == "done"
    assert report["target"] == server.url
    assert {(p["version"], p["arch"], p["checksum"]) for p in report["packages"]} == {
        ("v0.12.0", "amd64", "ok"), ("v0.12.0", "arm64", "ok")
    }
    assert all(len(p["sha512"]) == 128 for p in report["packages"])
    redis = [i for i in report["images"] if i["destination"].endswith("bitnami/redis:7.0.11")]
    assert {i["platform"] for i in redis} == {"linux/amd64", "linux/arm64"}
    assert all(i["platforms_before"] == [] and i["platforms_after"] == ["linux/amd64", "linux/arm64"] for i in redis)
    assert all(i["action"] == "new" and i["digest"].startswith("sha256:") for i in redis)
    assert redis[0]["tag_digest"] == redis[1]["tag_digest"] != redis[0]["digest"]  # one index for both
    assert report["bytes_uploaded"] > 0 and report["counts"] == {"new": len(report["images"])}
    assert report["charts"] and all(c["action"] == "new" for c in report["charts"])
    text = md.read_text()
    assert f"# archfuse import {run_id}: done" in text and "linux/amd64, linux/arm64" in text
    for path in (md, js):
        assert PASSWORD not in path.read_text()

    again = archfuse("import", *v12, *registry_args(server), "--yes", state_dir=state, password=PASSWORD)
    assert again.code == 0, again.err
    lines = [line for line in again.err.splitlines() if line.startswith("report: ")]
    assert [Path(line.removeprefix("report: ")).suffix for line in lines] == [".md", ".json"]
    second = json.loads(Path(lines[1].removeprefix("report: ")).read_text())
    assert second["run_id"] != run_id and set(second["counts"]) == {"unchanged"}


def test_secrets_in_messages_and_urls_are_masked_and_verify_is_added(tmp_path: Path) -> None:
    summary = SimpleNamespace(
        run_id="abc123", status="failed", bytes_uploaded=10, seconds=2.0, counts={"new": 1}, peak_spool=0,
        failures=[f"https://bob:{PASSWORD}@reg.example/v2/ said no to token {PASSWORD}"], images=(), charts=(),
    )
    report = build_report(summary, [], f"https://bob:{PASSWORD}@reg.example")
    md, js = write_report(tmp_path, report, secrets=(PASSWORD,))
    for path in (md, js):
        assert PASSWORD not in path.read_text() and "bob" not in path.read_text()
    assert "## Failures" in md.read_text() and "## Verification" not in md.read_text()
    verify = {"ok": False, "images": [{"destination": "reg.example/a:1", "platform": "linux/arm64",
                                        "status": "missing-platform", "detail": "no arm64"}], "charts": []}
    add_verify(js, verify, secrets=(PASSWORD,))
    assert json.loads(js.read_text())["verify"] == verify
    text = md.read_text()
    assert "## Verification" in text and "0/1 ok" in text and "missing-platform" in text
    assert render_markdown(json.loads(js.read_text())) == text
