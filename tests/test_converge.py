"""A second writer never costs an architecture: convergent tag writes against the real registry.

Another client rewriting a tag during a run is timed by the run's own events (the hook runs
``skopeo copy`` synchronously inside the event), so nothing here depends on sleeps; two archfuse
processes started together are repeated and judged on the end state only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core import events as ev
from core.config import build_target_config
from core.oci import mediatypes as mt
from core.package.model import PackageIndex
from core.plan.images import build_plan
from core.plan.results import RunSummary
from core.run.engine import ImportRun, RunOptions
from core.session import open_session
from core.targets.registry import RegistryTarget
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.imports import make_package
from tests.fixtures.registry import RegistryServer, skopeo, skopeo_inspect_raw

ROOT = Path(__file__).resolve().parents[1]
REPO, TAG = "addon/app", "1.0"


def _served(server: RegistryServer, ref: str) -> set[str]:
    """Platforms a tag serves, read with skopeo (a bare manifest: its config's platform)."""
    raw = skopeo_inspect_raw(f"{server.host}/{ref}", server)
    if raw.get("mediaType") in (mt.DOCKER_MANIFEST_LIST, mt.OCI_INDEX):
        return {f"{e['platform']['os']}/{e['platform']['architecture']}" for e in raw["manifests"]}
    config = skopeo("inspect", "--config", *server.skopeo_args(), f"docker://{server.host}/{ref}").stdout
    data = json.loads(config)
    return {f"{data['os']}/{data['architecture']}"}


def _flatten(server: RegistryServer, digest: str) -> None:
    """What ``skopeo copy`` of a one-arch image onto the tag does: the tag serves that arch only."""
    flags = server.skopeo_args("src-") + server.skopeo_args("dest-")
    skopeo("copy", *flags, f"docker://{server.host}/{REPO}@{digest}", f"docker://{server.host}/{REPO}:{TAG}")


def _run(target: RegistryTarget, packages: list[PackageIndex], hook: Callable[[ev.Event], None]) -> tuple[RunSummary, list[ev.Event]]:
    seen: list[ev.Event] = []

    def emit(event: ev.Event) -> None:
        seen.append(event)
        hook(event)

    run = ImportRun(build_plan(packages, target), target, emit=emit, options=RunOptions(settle=0.01))
    return run.execute(), seen


@pytest.fixture
def two_arches(registry: RegistryServer) -> tuple[RegistryTarget, PackageIndex, PackageIndex]:
    """The tag serves arm64 (imported before); the run under test adds amd64."""
    target = RegistryTarget(registry.client())
    arm = make_package(target, "v1", "arm64")
    amd = make_package(target, "v1", "amd64")
    assert ImportRun(build_plan([arm], target), target).execute().status == "done"
    return target, arm, amd


def _run_while_flattening(
    registry: RegistryServer,
    two_arches: tuple[RegistryTarget, PackageIndex, PackageIndex],
    after: tuple[type[ev.Event], ...],
) -> tuple[RunSummary, list[ev.Event]]:
    """Import amd64 while another client flattens the tag back to the arm64 image after each ``after`` event."""
    target, arm, amd = two_arches
    arm_digest = arm.images[0].manifest.digest

    def hook(event: ev.Event) -> None:
        if isinstance(event, after):
            _flatten(registry, arm_digest)

    return _run(target, [amd], hook)


def test_skopeo_flattening_a_tag_during_the_run_is_merged_back(
    registry: RegistryServer, two_arches: tuple[RegistryTarget, PackageIndex, PackageIndex]
) -> None:
    # right after the run wrote the tag: another client rewrites it
    summary, seen = _run_while_flattening(registry, two_arches, (ev.ImageDone,))
    assert summary.status == "done" and summary.remerged == 1, summary.failures
    [remerged] = [e for e in seen if isinstance(e, ev.TagRemerged)]
    assert remerged.missing == ("linux/amd64",) and remerged.platforms_now == ("linux/arm64",)
    [finished] = [e for e in seen if isinstance(e, ev.RunFinished)]
    assert finished.remerged == 1
    assert _served(registry, f"{REPO}:{TAG}") == {"linux/amd64", "linux/arm64"}


def test_a_writer_that_keeps_flattening_fails_the_run_naming_the_tag(
    registry: RegistryServer, two_arches: tuple[RegistryTarget, PackageIndex, PackageIndex]
) -> None:
    # after every write of the run, flatten again
    summary, seen = _run_while_flattening(registry, two_arches, (ev.ImageDone, ev.TagRemerged))
    assert summary.status == "failed"
    message = summary.failures[-1]
    assert f"{registry.host}/{REPO}:{TAG} lost linux/amd64" in message and "now serves linux/arm64" in message
    assert "another client" in message and "\n" not in message
    [converged] = [e for e in seen if isinstance(e, ev.TagsConverged)]
    assert not converged.converged and converged.remerged >= 1


def test_a_tag_another_client_gave_another_image_of_our_platform_fails_without_a_fight(
    registry: RegistryServer, two_arches: tuple[RegistryTarget, PackageIndex, PackageIndex]
) -> None:
    target, _arm, amd = two_arches
    other = make_package(target, "v2", "amd64")  # same platform, other content
    target.put_manifest(REPO, other.images[0].manifest.digest, other.images[0].manifest)

    def hook(event: ev.Event) -> None:
        if isinstance(event, ev.ImageDone):
            _flatten(registry, other.images[0].manifest.digest)

    summary, seen = _run(target, [amd], hook)
    assert summary.status == "failed" and not [e for e in seen if isinstance(e, ev.TagRemerged)]
    assert "serves linux/amd64 by another image than this run imported" in summary.failures[-1]


def test_without_another_writer_a_run_rereads_and_is_done(
    registry: RegistryServer, two_arches: tuple[RegistryTarget, PackageIndex, PackageIndex]
) -> None:
    target, _arm, amd = two_arches
    summary, seen = _run(target, [amd], lambda _e: None)
    assert summary.status == "done" and summary.remerged == 0
    [converged] = [e for e in seen if isinstance(e, ev.TagsConverged)]
    assert (converged.tags, converged.remerged, converged.converged) == (1, 0, True)


# -- two archfuse processes at once ------------------------------------------------------------


def _archfuse(args: list[str], state: Path, lock_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ARCHFUSE_STATE_DIR": str(state), "ARCHFUSE_LOCK_DIR": str(lock_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("spelling", ["two hosts", "localhost and 127.0.0.1"])
def test_two_imports_of_other_arches_at_once_never_lose_a_platform(
    registry_factory: Callable[..., RegistryServer], demo_packages: list[Path], tmp_path: Path, spelling: str
) -> None:
    amd = next(p for p in demo_packages if p.name.endswith("-v0.11.0-amd64.tar.gz"))
    arm = next(p for p in demo_packages if p.name.endswith("-v0.11.0-arm64.tar.gz"))
    for trial in range(3):
        server = registry_factory()
        url = f"http://127.0.0.1:{server.port}"
        other_url = url if spelling == "two hosts" else f"http://localhost:{server.port}"
        locks = [tmp_path / f"locks-{trial}-a", tmp_path / f"locks-{trial}-b"]
        if spelling != "two hosts":
            locks[1] = locks[0]  # one host: one lock directory
        procs = {
            "linux/amd64": _archfuse(["import", str(amd), "--registry", url, "--insecure", "--yes", "--json"],
                                     tmp_path / f"state-{trial}-a", locks[0]),
            "linux/arm64": _archfuse(["import", str(arm), "--registry", other_url, "--insecure", "--yes", "--json"],
                                     tmp_path / f"state-{trial}-b", locks[1]),
        }
        # communicate() drains both pipes while it waits: a run's --json events can outgrow a pipe's buffer
        talk = {platform: proc.communicate(timeout=300) for platform, proc in procs.items()}
        outcome = {platform: (procs[platform].returncode, talk[platform]) for platform in procs}
        done = {platform for platform, (code, _out) in outcome.items() if code == 0}
        for code, (_out, err) in outcome.values():
            if code != 0:  # only the run lock may refuse the second run, on one host
                assert spelling != "two hosts" and "Another archfuse run is using" in err, err + _out[-3000:]
        assert done, outcome
        written = {
            event["destination"]
            for _code, (out, _err) in outcome.values()
            for event in map(json.loads, filter(lambda line: line.startswith("{"), out.splitlines()))
            if event.get("event") == "image_done"
        }
        assert written
        for destination in written:
            served = _served(server, destination.split("/", 1)[1])
            assert done <= served, f"trial {trial}: {destination} serves {served}, runs done: {done}"
        server.close()


# -- the run's last read, after the chart phase -------------------------------------------------


def test_a_tag_flattened_during_the_chart_phase_is_merged_back_by_the_last_read(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    """A writer that rewrites a tag after the convergence read (while the charts are pushed) is seen by
    the run's very last read of the target, which merges the lost platform back."""
    amd = next(p for p in demo_packages if p.name.endswith("-v0.11.0-amd64.tar.gz"))
    arm = next(p for p in demo_packages if p.name.endswith("-v0.11.0-arm64.tar.gz"))
    state = tmp_path / "state"
    assert archfuse("import", arm, *registry_args(registry), "--yes", state_dir=state).code == 0
    config = build_target_config(registry.url, insecure=True)
    flattened: list[str] = []
    seen: list[ev.Event] = []
    ref = "metrics-server/metrics-server:v0.6.2"

    def hook(event: ev.Event) -> None:
        seen.append(event)
        if isinstance(event, ev.ChartDone) and not flattened:  # the chart phase: the tags are written
            flattened.append(event.name)
            arm_image = next(i for p in session.scan([arm]) for i in p.images if i.refs[0].endswith(ref))
            skopeo("copy", *registry.skopeo_args("src-"), *registry.skopeo_args("dest-"),
                   f"docker://{registry.host}/metrics-server/metrics-server@{arm_image.manifest.digest}",
                   f"docker://{registry.host}/{ref}")
            assert _served(registry, ref) == {"linux/arm64"}

    session = open_session(config, state_dir=state, emit=hook)
    try:
        preflight = session.preflight(session.scan([amd]))
        summary = session.run(preflight, options=RunOptions(settle=0.01))
    finally:
        session.close()
    assert flattened and summary.status == "done", summary.failures
    assert _served(registry, ref) == {"linux/amd64", "linux/arm64"}
    [remerged] = [e for e in seen if isinstance(e, ev.TagRemerged)]
    assert remerged.destination.endswith(ref) and remerged.missing == ("linux/amd64",)
    last = [e for e in seen if isinstance(e, ev.TagsConverged)][-1]
    assert last.final and last.remerged == 1 and last.converged and summary.remerged == 1
