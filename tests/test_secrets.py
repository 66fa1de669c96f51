"""Secret masking in one module (core.secrets): the journal, the run reports and the session's events
all pass their text through the same :func:`core.secrets.mask`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from core import events as ev
from core.config import TargetConfig
from core.kinds import CheckKind, CheckStatus
from core.record import journal as journal_module
from core.record import report as report_module
from core.record.journal import Journal
from core.record.report import build_report, write_report
from core.secrets import MASK, MIN_MASKED_LENGTH, Secret, mask, mask_all, masked_emit
from core.session import Session
from core.targets.layout import LayoutTarget
from tests.cli_driver import archfuse
from tests.fixtures.registry import RegistryServer
from tests.test_import_registry import pkg

PASSWORD = "Pw-One-Module-2024"
TOKEN = "Pw-One"  # a prefix of the password: the longer secret is masked first, whole


def test_mask_cuts_url_user_info_and_every_secret_longest_first() -> None:
    text = f"https://bob:{PASSWORD}@reg.example/v2/ said {PASSWORD} and {TOKEN}"
    assert mask(text, (TOKEN, PASSWORD, "")) == f"https://reg.example/v2/ said {MASK} and {MASK}"
    assert mask_all({f"key {PASSWORD}": [PASSWORD, 3, None, True]}, (PASSWORD,)) == {
        f"key {MASK}": [MASK, 3, None, True]
    }
    assert PASSWORD not in repr(Secret(PASSWORD)) and PASSWORD not in f"{Secret(PASSWORD)}"


def test_the_journal_and_the_report_mask_through_the_one_module(tmp_path: Path) -> None:
    assert journal_module.mask is mask and report_module.mask_all is mask_all
    # the report masks keys as the journal always did: one rule for both
    summary = SimpleNamespace(run_id="r1", status="failed", bytes_uploaded=0, seconds=1.0, counts={}, peak_spool=0,
                              failures=[f"said {PASSWORD}"], images=(), charts=())
    report = build_report(summary, [], "oci:layout")
    report["by_url"] = {f"https://u:{PASSWORD}@h": 1}
    md, js = write_report(tmp_path / "state", report, secrets=(PASSWORD,))
    assert PASSWORD not in js.read_text() and PASSWORD not in md.read_text()
    assert json.loads(js.read_text())["by_url"] == {"https://h": 1}
    with Journal(tmp_path / "state", secrets=(PASSWORD,)) as journal:
        run_id = journal.start_run("import", "oci:layout", [], {PASSWORD: "as a key", "note": f"x {PASSWORD}"})
        journal.finish_run(run_id, "failed", {}, 0, f"https://u:{PASSWORD}@h refused {PASSWORD}")
    with sqlite3.connect(tmp_path / "state" / journal_module.FILE_NAME) as db:
        rows = db.execute("SELECT options, message FROM runs").fetchall()
    assert rows == [(json.dumps({MASK: "as a key", "note": f"x {MASK}"}, sort_keys=True), f"https://h refused {MASK}")]


def test_events_leave_the_session_masked(tmp_path: Path) -> None:
    seen: list[ev.Event] = []
    config = TargetConfig(layout_path=tmp_path / "layout", chart_password=Secret(PASSWORD))
    session = Session(LayoutTarget(tmp_path / "layout"), config=config, state_dir=tmp_path / "state", emit=seen.append)
    session.emit(ev.Warning(f"the chart repository refused {PASSWORD}"))
    session.emit(ev.CheckDone("target", CheckStatus.OK, "fine", CheckKind.TARGET))
    assert [e.message for e in seen if isinstance(e, ev.Warning)] == [f"the chart repository refused {MASK}"]
    done = [e for e in seen if isinstance(e, ev.CheckDone)]
    assert done[0].status is CheckStatus.OK  # enums stay enums
    plain: list[ev.Event] = []
    masked_emit(plain.append, ())(ev.Warning(PASSWORD))
    assert [e.message for e in plain if isinstance(e, ev.Warning)] == [PASSWORD]  # no secrets: as it came


def test_short_secrets_are_never_searched_for_and_long_ones_are_masked() -> None:
    text = "versions of ingress-nginx: 3 images"
    for short in ("e", "ing", "x" * (MIN_MASKED_LENGTH - 1)):
        assert mask(text, (short,)) == text  # a mask would mangle the words and tell the password
        assert mask(f"https://u:{short}@h/v2/ {text}", (short,)) == f"https://h/v2/ {text}"  # cut by structure
    assert mask(f"the server said {PASSWORD}.", ("e", PASSWORD)) == f"the server said {MASK}."


@pytest.mark.parametrize("password", ["e", "ing"])
def test_a_short_password_does_not_mangle_the_output_nor_show(
    password: str, registry_factory: Callable[..., RegistryServer], demo_packages: list[Path], tmp_path: Path
) -> None:
    server = registry_factory(auth="htpasswd", tls=True, password=password)
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    url = f"https://{server.username}:{password}@{server.host}"
    state = tmp_path / "state"
    target = ["--registry", url, "--ca-cert", str(server.ca_path)]
    plan = archfuse("plan", amd, *target, state_dir=state)
    run = archfuse("import", amd, *target, "--yes", "--json", state_dir=state)
    env = {"ARCHFUSE_USERNAME": server.username or ""}
    again = archfuse("import", amd, "--registry", server.url, "--ca-cert", str(server.ca_path), "--yes",
                     state_dir=state, password=password, env=env)
    history = archfuse("history", state_dir=state)
    for result in (plan, run, again, history):
        assert result.code == 0, result.err + result.out
        shown = result.out + result.err
        assert MASK not in shown and f":{password}@" not in shown
    assert "ingress-nginx" in plan.out and "Totals: 6 images (6 new)" in plan.out
    assert {e["destination"].split("/", 1)[1] for e in run.of("image_done")} >= {"ingress-nginx/controller:v1.8.1"}
    assert "unchanged" in again.out and "addon-offline-full-package-v0.11.0-amd64.tar.gz" in history.out
