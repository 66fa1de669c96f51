"""Rollback: tags put back to their previous digests where nothing moved them since; refusals say why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import events as ev
from core.errors import UsageError
from core.operations.rollback import rollback_run
from core.record.journal import Journal, render_history
from core.targets.layout import LayoutTarget
from tests.fixtures.imports import journaled_import, make_package
from tui.cli import main

REPO, TAG = "addon/app", "1.0"


class Events(list[ev.Event]):
    def __call__(self, event: ev.Event) -> None:
        self.append(event)

    def of(self, kind: type[ev.Event]) -> list[Any]:
        return [e for e in self if isinstance(e, kind)]


def _digest(target: Any, repo: str = REPO, tag: str = TAG) -> str | None:
    found = target.get_manifest(repo, tag)
    return found.digest if found else None


def _two_arch_import(journal: Journal, target: Any) -> tuple[str, str, str, str]:
    """amd64, then arm64 into the same tag: (first run, second run, digest after first, after second)."""
    first, _ = journaled_import(journal, target, [make_package(target, "v1.0", "amd64")])
    amd64_only = _digest(target)
    second, _ = journaled_import(journal, target, [make_package(target, "v1.0", "arm64")])
    both = _digest(target)
    assert amd64_only and both and amd64_only != both
    return first, second, amd64_only, both


def test_rollback_puts_the_tag_back_and_is_itself_a_run(journal: Journal, layout: LayoutTarget) -> None:
    first, second, amd64_only, both = _two_arch_import(journal, layout)
    events = Events()
    summary = rollback_run(journal, second, layout, emit=events)

    assert summary.status == "done" and summary.exit_code == 0
    [outcome] = summary.tags
    assert (outcome.result, outcome.before, outcome.after, outcome.now) == (
        "restored",
        amd64_only,
        both,
        both,
    )
    assert _digest(layout) == amd64_only
    [done] = events.of(ev.ImageDone)
    assert done.action == "rolled-back" and done.digest == amd64_only
    assert done.platforms_before == ("linux/amd64", "linux/arm64") and done.platforms_after == (
        "linux/amd64",
    )
    assert events.of(ev.RunStarted)[0].run_id == summary.run_id
    assert events.of(ev.RunFinished)[0].status == "done"

    run = journal.run(summary.run_id)
    assert (run.kind, run.parent, run.status, run.target) == ("rollback", second, "done", layout.description)
    [tag] = journal.tags_of(summary.run_id)
    assert (tag.before, tag.after) == (both, amd64_only)
    assert f"rollback of {second}" in render_history(journal.runs())

    # Rolling back the rollback brings the fused index back.
    again = rollback_run(journal, summary.run_id, layout)
    assert [t.result for t in again.tags] == ["restored"] and _digest(layout) == both


def test_tag_the_run_created_is_removed_from_a_layout(journal: Journal, layout: LayoutTarget) -> None:
    first, _ = journaled_import(journal, layout, [make_package(layout, "v1.0", "amd64")])
    summary = rollback_run(journal, first, layout)
    assert [(t.result, t.before) for t in summary.tags] == [("deleted", None)]
    assert _digest(layout) is None and TAG not in layout.tags(REPO)
    # A second rollback finds nothing to do.
    assert [t.result for t in rollback_run(journal, first, layout).tags] == ["unchanged"]


def test_refuses_a_tag_another_run_moved_since_and_names_it(journal: Journal, layout: LayoutTarget) -> None:
    _first, second, _amd64_only, _both = _two_arch_import(journal, layout)
    upgrade, s = journaled_import(journal, layout, [make_package(layout, "v1.1", "amd64")])
    assert s.counts == {"update-arch": 1}
    upgraded = _digest(layout)
    events = Events()

    summary = rollback_run(journal, second, layout, emit=events)

    assert summary.status == "failed" and summary.exit_code == 1
    [outcome] = summary.tags
    assert outcome.result == "refused" and outcome.now == upgraded
    assert f"import run {upgrade}" in outcome.detail and "roll that run back first" in outcome.detail
    assert _digest(layout) == upgraded  # untouched
    [failure] = events.of(ev.Failure)
    assert failure.message == outcome.detail
    assert journal.run(summary.run_id).status == "failed"
    assert journal.tags_of(summary.run_id) == []  # it wrote nothing

    # Undo the newer run first, then the older one goes through.
    assert [t.result for t in rollback_run(journal, upgrade, layout).tags] == ["restored"]
    assert [t.result for t in rollback_run(journal, second, layout).tags] == ["restored"]


def test_refuses_a_tag_changed_outside_archfuse(journal: Journal, layout: LayoutTarget) -> None:
    _first, second, _amd64_only, _both = _two_arch_import(journal, layout)
    other = make_package(layout, "v9", "s390x").images[0].manifest
    layout.put_manifest(REPO, other.digest, other)
    layout.put_manifest(REPO, TAG, other)  # another client's push
    [outcome] = rollback_run(journal, second, layout).tags
    assert outcome.result == "refused" and "another client changed it since" in outcome.detail
    assert _digest(layout) == other.digest


def test_refuses_when_the_previous_content_is_gone(journal: Journal, layout: LayoutTarget) -> None:
    _first, second, amd64_only, both = _two_arch_import(journal, layout)
    (layout.path / "blobs" / "sha256" / amd64_only.split(":", 1)[1]).unlink()  # garbage-collected
    [outcome] = rollback_run(journal, second, layout).tags
    assert outcome.result == "refused" and "no longer in addon/app" in outcome.detail
    assert _digest(layout) == both


class NoDeleteTarget:
    """A target with only the protocol's methods, like a registry: no way to delete a tag."""

    deletes_tags = False

    def __init__(self, inner: LayoutTarget) -> None:
        self._inner = inner
        self.description, self.host = inner.description, inner.host

    def __getattr__(self, name: str) -> Any:
        if name == "delete_tag":
            raise AssertionError("rollback asked a target that cannot delete tags to delete one")
        return getattr(self._inner, name)


def test_new_tag_is_left_with_a_reason_where_tags_cannot_be_deleted(
    journal: Journal, layout: LayoutTarget
) -> None:
    target = NoDeleteTarget(layout)
    first, _ = journaled_import(journal, target, [make_package(layout, "v1.0", "amd64")])
    events = Events()
    summary = rollback_run(journal, first, target, emit=events)
    [outcome] = summary.tags
    assert outcome.result == "left" and "no way to delete a tag" in outcome.detail
    assert summary.status == "done"
    assert _digest(layout) == outcome.after
    assert events.of(ev.Warning)[0].message.endswith(outcome.detail)


def test_rollback_needs_the_runs_target(journal: Journal, layout: LayoutTarget, tmp_path: Path) -> None:
    first, _ = journaled_import(journal, layout, [make_package(layout, "v1.0", "amd64")])
    with pytest.raises(UsageError, match="was made against"):
        rollback_run(journal, first, LayoutTarget(tmp_path / "elsewhere"))


def test_cli_rollback_reopens_a_layout_target(
    tmp_path: Path, layout: LayoutTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    with Journal(state) as journal:
        _first, second, amd64_only, _both = _two_arch_import(journal, layout)
    assert main(["rollback", second[:8], "--state-dir", str(state), "--yes", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1]["event"] == "rollback" and lines[-1]["rolled_back"] == second
    assert lines[-1]["tags"][0]["result"] == "restored"
    assert any(line.get("event") == "image_done" and line["action"] == "rolled-back" for line in lines)
    assert _digest(layout) == amd64_only


@pytest.mark.registry
def test_rollback_on_a_real_registry(journal: Journal, registry: Any) -> None:
    from core.targets.registry import RegistryTarget

    target = RegistryTarget(registry.client(), registry.url)
    try:
        first, second, amd64_only, _both = _two_arch_import(journal, target)
        [restored] = rollback_run(journal, second, target).tags
        assert restored.result == "restored" and _digest(target) == amd64_only
        [left] = rollback_run(journal, first, target).tags  # distribution cannot delete a tag
        assert left.result == "left" and "DELETE /v2/<name>/manifests/<tag>" in left.detail
        assert _digest(target) == amd64_only
    finally:
        target.close()


# -- OCI chart tags ---------------------------------------------------------------------------


def test_rollback_removes_the_chart_tags_a_run_pushed_into_a_layout(demo_packages: list[Path], tmp_path: Path) -> None:
    from tests.cli_driver import archfuse
    from tests.test_import_registry import pkg

    state, layout = tmp_path / "state", tmp_path / "layout"
    imported = archfuse("import", pkg(demo_packages, "v0.11.0", "amd64"), "--registry", layout, "--yes", "--json",
                        state_dir=state)
    assert imported.code == 0, imported.err
    charts = {e["destination"] for e in imported.of("chart_done") if e["action"] == "new"}
    assert charts
    target = LayoutTarget(layout.resolve())
    refs = [d[len(target.host) + 1 :].rsplit(":", 1) for d in charts]
    assert all(_digest(target, *ref) for ref in refs)
    back = archfuse("rollback", imported.last("run_finished")["run_id"], "--yes", "--json", state_dir=state)
    assert back.code == 0, back.err
    outcome = {t["destination"]: t["result"] for t in back.last("rollback")["tags"]}
    assert {outcome[d] for d in charts} == {"deleted"}
    assert not any(_digest(target, *ref) for ref in refs)


def test_rollback_restores_a_chart_tag_a_forced_import_overwrote_on_a_registry(
    registry: Any, demo_packages: list[Path], tmp_path: Path
) -> None:
    from core.targets.registry import RegistryTarget
    from tests.cli_driver import archfuse, registry_args
    from tests.test_import_charts import import_then_edit_chart, pull_chart
    from tests.test_import_registry import import_, pkg

    state, amd = tmp_path / "state", pkg(demo_packages, "v0.11.0", "amd64")
    import_then_edit_chart(registry, state, amd)
    target = RegistryTarget(registry.client(), registry.url)
    edited = _digest(target, "addon/metrics-server", "3.8.2")
    forced = import_(registry, state, amd, extra=("--force-charts",))
    assert _digest(target, "addon/metrics-server", "3.8.2") != edited
    back = archfuse("rollback", forced.last("run_finished")["run_id"], *registry_args(registry), "--yes", "--json",
                    state_dir=state)
    assert back.code == 0, back.err
    [chart] = [t for t in back.last("rollback")["tags"] if t["destination"].endswith("addon/metrics-server:3.8.2")]
    assert chart["result"] == "restored"
    assert _digest(target, "addon/metrics-server", "3.8.2") == edited
    assert pull_chart(registry, "addon/metrics-server", "3.8.2")["values.yaml"].endswith(b"# edited by hand\n")


def test_rollback_reports_charts_pushed_to_a_chart_repository_as_left(
    registry: Any, chartmuseum: Any, demo_packages: list[Path], tmp_path: Path
) -> None:
    from tests.cli_driver import archfuse, registry_args
    from tests.test_chart_repos_cli import CHART_ENV, chartmuseum_args
    from tests.test_import_registry import pkg

    state = tmp_path / "state"
    imported = archfuse("import", pkg(demo_packages, "v0.11.0", "amd64"), *chartmuseum_args(registry, chartmuseum),
                        "--yes", "--json", state_dir=state, env=CHART_ENV)
    assert imported.code == 0, imported.err
    back = archfuse("rollback", imported.last("run_finished")["run_id"], *registry_args(registry), "--yes", "--json",
                    state_dir=state)
    charts = [t for t in back.last("rollback")["tags"] if "chart repository" in t["detail"]]
    assert len(charts) == len(imported.of("chart_done")) and {c["result"] for c in charts} == {"left"}
