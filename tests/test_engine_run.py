"""The run itself: bounded spool, cancellation, events — in process, against the real registry."""

from __future__ import annotations

import threading
from pathlib import Path

from core import events as ev
from core.config import build_target_config
from core.errors import STOPPED_EXIT
from core.run.engine import RunOptions
from core.session import Session, open_session
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.registry import RegistryServer, skopeo_copy_all


def session_for(registry: RegistryServer, state: Path, emit: ev.Emit = ev.discard) -> Session:
    config = build_target_config(registry.url, insecure=True, env={})
    return open_session(config, state_dir=state, emit=emit)


def test_spool_never_holds_more_than_its_budget(registry: RegistryServer, sample_package, tmp_path: Path) -> None:
    package = sample_package("v0.12.0", "amd64", payload=6 << 20)  # layers of several MiB
    result = archfuse("import", package, *registry_args(registry), "--yes", "--json", "--spool-budget", "1MiB",
                      "--scan-first", state_dir=tmp_path / "state")  # the run reads the package: its spool
    assert result.code == 0, result.err
    finished = result.last("run_finished")
    assert finished["status"] == "done"
    assert 0 < finished["peak_spool"] <= 1 << 20
    assert finished["bytes_uploaded"] > 6 << 20
    for event in result.of("image_done"):
        skopeo_copy_all(event["destination"], registry, tmp_path / "copy")


def test_cancel_stops_before_any_tag_moves_and_the_rerun_finishes(registry: RegistryServer, sample_package,
                                                                   tmp_path: Path) -> None:
    package = sample_package("v0.12.0", "amd64", payload=2 << 20)
    state = tmp_path / "state"
    cancel = threading.Event()
    seen: list[ev.Event] = []

    def emit(event: ev.Event) -> None:
        seen.append(event)
        if isinstance(event, ev.BlobDone):
            cancel.set()  # the engineer pressed Escape once the first blob was up

    session = session_for(registry, state, emit)
    packages = session.scan([package])
    preflight = session.preflight(packages, options=RunOptions(workers=1))
    summary = session.run(preflight, cancel=cancel, options=RunOptions(workers=1))
    assert summary.status == "cancelled" and summary.exit_code == STOPPED_EXIT  # a safe stop, not a failure
    assert not [e for e in seen if isinstance(e, ev.ImageDone)]
    tags_root = registry.storage / "docker/registry/v2/repositories"
    assert not list(tags_root.glob("**/_manifests/tags/*")), "a cancelled run moved a tag"
    finished = [e for e in seen if isinstance(e, ev.RunFinished)][-1]
    assert finished.status == "cancelled" and "run the same import again" in finished.message

    rerun: list[ev.Event] = []
    session2 = session_for(registry, state, rerun.append)
    preflight2 = session2.preflight(session2.scan([package]))
    # the blob uploaded before the cancel is not uploaded again
    first_blob = next(e for e in seen if isinstance(e, ev.BlobDone))
    assert first_blob.digest not in preflight2.plan.blobs
    summary2 = session2.run(preflight2)
    assert summary2.status == "done"
    assert {e.action for e in rerun if isinstance(e, ev.ImageDone)} == {"new"}


def test_events_carry_totals_and_json_round_trips(registry: RegistryServer, demo_packages: list[Path],
                                                  tmp_path: Path) -> None:
    seen: list[ev.Event] = []
    session = session_for(registry, tmp_path / "state", seen.append)
    packages = session.scan([demo_packages[0]])
    summary = session.run(session.preflight(packages))
    kinds = [e.event_name for e in seen]
    assert kinds.index("run_started") < kinds.index("image_done") < kinds.index("run_finished")
    started = next(e for e in seen if isinstance(e, ev.RunStarted))
    progress = [e for e in seen if isinstance(e, ev.BytesProgress)]
    assert progress and progress[-1].bytes_done == started.bytes_total == summary.bytes_uploaded
    assert all(e.to_json()["event"] == e.event_name for e in seen)
