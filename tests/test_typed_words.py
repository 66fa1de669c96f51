"""Typed words: actions, statuses, stages and kinds are enums end to end (the JSON keeps the plain
words); engine hints are Advice, so the CLI names its flags and the TUI never does."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from core import events as ev
from core.advice import _PLACEHOLDER, CLI_WORDS, Fix
from core.errors import UsageError
from core.http.base import registry_origin
from core.kinds import (
    ChartAction,
    CheckKind,
    CheckStatus,
    ImageAction,
    ImageStage,
    RollbackResult,
    RunKind,
    RunStatus,
)
from core.record.journal import Journal
from tests.cli_driver import archfuse
from tests.test_import_registry import pkg
from tui.advice import TUI_WORDS, say
from tui.widgets.progress import IMAGE_STATUS_STYLE, STAGE_RANK

ROOT = Path(__file__).resolve().parent.parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")

#: string literals in core/ that may name a CLI flag, each with its reason: (file, flag)
FLAG_ALLOWED = {
    # the CLI's words for each fix: the one table that names flags
    **{("core/advice.py", flag): "CLI_WORDS" for flag in FLAG.findall(" ".join(CLI_WORDS.values()))},
    # ChartMuseum's own server option, not one of archfuse's
    ("core/charts/chartmuseum.py", "--disable-force-overwrite"): "the chart server's flag",
    # the registry's own garbage-collect option, which the advice after a prune warns against
    ("core/operations/prune.py", "--delete-untagged"): "docker-registry's flag",
    # parses the CLI's --ignore-check value; only tui/cli.py calls it (the TUI offers kinds by key)
    ("core/checks/base.py", "--ignore-check"): "ignorable_kind",
    # OptionNames: the CLI's names are the defaults, the Target form passes its own (tui/target_settings.py)
    ("core/run/options.py", "--jobs"): "OptionNames",
    ("core/run/options.py", "--limit-rate"): "OptionNames",
    ("core/run/options.py", "--spool-budget"): "OptionNames",
    ("core/run/options.py", "--retry-for"): "OptionNames",
    ("core/run/options.py", "--stall-timeout"): "OptionNames",
    ("core/units.py", "--spool-budget"): "parse_size's default name (OptionNames)",
}


def _literals(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module but its docstrings, with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def _core_modules() -> list[Path]:
    return sorted((ROOT / "core").rglob("*.py"))


def test_no_engine_string_names_a_cli_flag_outside_the_cli_words() -> None:
    found = []
    for path in _core_modules():
        name = path.relative_to(ROOT).as_posix()
        for line, text in _literals(path):
            found += [f"{name}:{line}: {flag} in {text!r}" for flag in FLAG.findall(text) if (name, flag) not in FLAG_ALLOWED]
    assert not found, "engine text names CLI flags (use an Advice placeholder, core/advice.py):\n" + "\n".join(found)


def test_every_placeholder_the_engine_uses_is_worded_by_both_faces() -> None:
    fixes = {fix.value for fix in Fix}
    used = {
        match.group(1).lower()
        for path in _core_modules()
        for _line, text in _literals(path)
        for match in _PLACEHOLDER.finditer(text)
        if match.group(1).lower() in fixes
    }
    assert {"insecure", "login", "registry", "force_charts", "create_spaces", "clean_leftovers"} <= used
    for fix in map(Fix, sorted(used)):
        cli, tui = CLI_WORDS[fix], TUI_WORDS[fix]
        assert FLAG.search(cli), f"the CLI's words for {fix} name no flag: {cli!r}"
        assert "--" not in tui and "Target screen" not in cli and "press" not in cli, (fix, cli, tui)
    assert not [f for f in Fix if "--" in TUI_WORDS[f]]  # nor any fix the engine does not use yet


def test_the_tui_compares_enum_members_not_words() -> None:
    fields = {"status", "action", "stage", "kind", "checksum", "result", "how"}
    found = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            named = any(isinstance(s, ast.Attribute) and s.attr in fields for s in sides)
            words = [c for s in sides for c in ([s] if not isinstance(s, ast.Tuple) else s.elts)
                     if isinstance(c, ast.Constant) and isinstance(c.value, str)]
            if named and words:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found
    assert set(STAGE_RANK) == set(IMAGE_STATUS_STYLE) == set(ImageStage)  # waiting, cancelled included


def test_events_and_journal_rows_carry_enums_and_serialise_as_words(tmp_path: Path) -> None:
    done = ev.CheckDone("spool disk", CheckStatus.WARN, "tight", CheckKind.SPOOL_DISK)
    line = json.loads(json.dumps(done.to_json()))
    assert line["event"] == "check_done" and line["kind"] == "spool disk" and line["status"] == "warn"
    finished = json.loads(json.dumps(ev.RunFinished("r1", RunStatus.DONE, 1, 0, 0, 1.0).to_json()))
    assert finished["status"] == "done" and type(finished["status"]) is str

    with Journal(tmp_path) as journal:
        run = journal.start_run(RunKind.IMPORT, str(tmp_path / "layout"), [])
        journal.record_image(run, "a:1", "linux/amd64", "d/a:1", ImageAction.ADD_ARCH, "sha256:1", "done")
        journal.chart_done(run, "c", "1.0", "d/c:1.0", ChartAction.CONFLICT)
        journal.finish_run(run, RunStatus.DONE, {ImageAction.ADD_ARCH: 1})
        back = journal.start_run(RunKind.ROLLBACK, str(tmp_path / "layout"), [], parent=run)
        journal.record_image(back, "a:1", "", "d/a:1", RollbackResult.REFUSED, "sha256:1", "moved since")
        journal.finish_run(back, RunStatus.FAILED, {RollbackResult.REFUSED: 1})
        record, rolled = journal.run(run), journal.run(back)
        image, chart, refused = journal.images_of(run)[0], journal.charts_of(run)[0], journal.images_of(back)[0]
    assert (type(record.kind), type(record.status), type(rolled.kind)) == (RunKind, RunStatus, RunKind)
    assert record.counts == {ImageAction.ADD_ARCH: 1} and all(type(k) is ImageAction for k in record.counts)
    assert all(type(k) is RollbackResult for k in rolled.counts)
    assert image.action is ImageAction.ADD_ARCH and chart.action is ChartAction.CONFLICT
    assert refused.action is RollbackResult.REFUSED


def test_plan_json_keeps_its_words_and_import_check_events_carry_their_kind(demo_packages: list[Path], tmp_path: Path) -> None:
    result = archfuse("plan", pkg(demo_packages, "v0.11.0", "amd64"), "--registry", str(tmp_path / "layout"),
                      "--json", state_dir=tmp_path / "state")
    assert result.code == 0, result.err
    doc = result.events[-1]
    assert {"images", "charts", "checks", "bytes_to_upload", "counts"} <= set(doc)
    assert {i["action"] for i in doc["images"]} == {"new"} and doc["counts"] == {"new": len(doc["images"])}
    assert {c["action"] for c in doc["charts"]} == {"new"}
    assert all(set(c) == {"name", "status", "detail"} and c["status"] in ("ok", "warn") for c in doc["checks"])
    imported = archfuse("import", pkg(demo_packages, "v0.11.0", "amd64"), "--registry", str(tmp_path / "layout"),
                        "--yes", "--json", state_dir=tmp_path / "state")
    assert imported.code == 0, imported.err
    checks = [e for e in imported.events if e.get("event") == "check_done"]
    assert checks and all(set(e) == {"event", "at", "name", "status", "detail", "kind"} for e in checks)
    assert {e["kind"] for e in checks} <= {k.value for k in CheckKind}
    by_name = {e["name"]: e for e in checks}
    assert by_name["target"]["kind"] == "target" and by_name["target"]["status"] == "ok"
    assert {e["action"] for e in imported.events if e.get("event") == "image_done"} == {"new"}


def test_an_engine_error_as_text_keeps_its_advice_for_the_tui() -> None:
    with pytest.raises(UsageError) as caught:
        registry_origin("http://127.0.0.1:5000", insecure=False)
    text = str(caught.value)  # what results and failures keep of an error
    assert "Pass --insecure" in text and "--" not in say(text) and "Tick Insecure" in say(text)
    assert say(str(UsageError("plain {insecure-ish} text", hint="no fix"))) == "plain {insecure-ish} text no fix"
