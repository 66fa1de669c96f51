"""A long run against a real registry that is not always there: garbage collection during the run,
resumed uploads, stalls and restarts (issue 20)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from core import events as ev
from core.config import TargetConfig
from core.demo.samples import write_sample_package
from core.errors import STOPPED_EXIT, BlobUnknown, TargetError
from core.kinds import VerifyStatus
from core.oci.manifest import ManifestRef
from core.operations.verify import verify_images
from core.package.model import PackageIndex
from core.package.scan import scan_package
from core.plan.images import build_plan
from core.registry.client import RegistryClient
from core.registry.uploads import UploadMemo
from core.run.engine import ImportRun, RunOptions
from core.targets.connect import open_registry
from core.targets.registry import RegistryTarget
from tests.cli_driver import archfuse
from tests.fixtures.faultproxy import UPLOAD_PROCESS, FaultProxy
from tests.fixtures.registry import RegistryServer


class NoManifests(RegistryTarget):
    """A registry target whose manifest pushes fail: a run leaves only blobs behind."""

    def put_manifest(self, repository: str, reference: str, manifest: ManifestRef) -> None:
        raise TargetError("manifest pushes refused by the test")


class CountingTarget(RegistryTarget):
    """A registry target that counts manifest pushes refused for a blob the registry lacks."""

    refused = 0

    def put_manifest(self, repository: str, reference: str, manifest: ManifestRef) -> None:
        try:
            super().put_manifest(repository, reference, manifest)
        except BlobUnknown:
            self.refused += 1
            raise


def _blobs_only(registry: RegistryServer, tmp_path: Path) -> PackageIndex:
    """A package whose blobs (not its manifests, nor tags) the registry holds: a failed earlier run."""
    package = write_sample_package(tmp_path / "pkg", "v0.12.0", "amd64", payload=2 << 20)
    index = scan_package(package)
    target = NoManifests(registry.client(), registry.url)
    summary = ImportRun(build_plan([index], target), target).execute()
    assert summary.status == "failed" and "refused by the test" in summary.failures[0]
    return index


def _collect(registry: RegistryServer, repository: str, digest: str) -> None:
    """Take a blob out of a repository, as garbage collection does (distribution's blob delete)."""
    response = httpx.delete(f"{registry.url}/v2/{repository}/blobs/{digest}")
    assert response.status_code == 202, response.text


def _verified(index: PackageIndex, registry: RegistryServer) -> None:
    with registry.client() as client:
        checks = verify_images([index], RegistryTarget(client, registry.url))
    assert checks and {c.status for c in checks} == {VerifyStatus.OK}, checks


def _planned_then_collected(
    registry: RegistryServer, tmp_path: Path, target: RegistryTarget
) -> tuple[PackageIndex, Any]:
    index = _blobs_only(registry, tmp_path)
    plan = build_plan([index], target)
    assert not plan.blobs  # the plan found every blob on the target
    image = plan.images[0]
    layer = image.image.layers[-1]
    _collect(registry, image.repository, layer.digest)
    return index, plan


def test_a_blob_collected_between_plan_and_manifest_push_is_uploaded_again(
    registry: RegistryServer, tmp_path: Path
) -> None:
    target = CountingTarget(registry.client(), registry.url)
    index, plan = _planned_then_collected(registry, tmp_path, target)
    events: list[ev.Event] = []
    summary = ImportRun(plan, target, emit=events.append).execute()
    assert summary.status == "done", summary.failures
    assert target.refused == 1  # the registry named the blob; it went up again and the push was retried
    assert any(isinstance(e, ev.Warning) and "gone (garbage collection?)" in e.message for e in events)
    # the ETA counts the manifests, the tags and a verify after the last byte
    assert all(e.after_seconds > 0 for e in events if isinstance(e, ev.BytesProgress))
    _verified(index, registry)


def test_blobs_the_plan_saw_long_ago_are_looked_at_again_before_the_manifest(
    registry: RegistryServer, tmp_path: Path
) -> None:
    target = CountingTarget(registry.client(), registry.url)
    index, plan = _planned_then_collected(registry, tmp_path, target)
    summary = ImportRun(plan, target, options=RunOptions(recheck_after=0.0)).execute()
    assert summary.status == "done", summary.failures
    assert target.refused == 0  # found missing by the look before the push, not by the push
    _verified(index, registry)


# -- resume inside a blob ------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
LAYER = 32 << 20  # a large layer, scaled down: 1 GiB in BENCHMARKS.md (scripts/resume_bench.py)
UPLOADS = r"^/v2/.+/blobs/uploads/"
REPOSITORY = "team/big"


def _layer(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "layer.bin"
    data = random.Random(20).randbytes(LAYER)
    path.write_bytes(data)
    return path, "sha256:" + hashlib.sha256(data).hexdigest()


def _sent(proxy: FaultProxy) -> int:
    """Blob bytes the proxy read from clients, on every upload request."""
    return proxy.received("PATCH|PUT", UPLOADS)


def test_a_connection_reset_at_half_a_large_layer_resends_a_small_part(
    registry: RegistryServer, fault_proxy: Callable[..., FaultProxy], tmp_path: Path
) -> None:
    path, digest = _layer(tmp_path)
    proxy = fault_proxy(registry)
    broken = proxy.drop("PATCH", UPLOADS, from_bytes=LAYER // 2)  # the chunk that crosses half the layer
    with RegistryClient(proxy.url, insecure=True) as client, path.open("rb") as stream:
        client.put_blob(REPOSITORY, digest, LAYER, stream)
        assert client.blob_exists(REPOSITORY, digest)
    assert broken.fired == 1
    resent = _sent(proxy) - LAYER
    assert 0 < resent <= LAYER // 10, f"{resent / LAYER:.1%} of the layer sent again"


def test_a_killed_upload_is_continued_by_the_next_run(
    registry: RegistryServer, fault_proxy: Callable[..., FaultProxy], tmp_path: Path
) -> None:
    """``kill -9`` at half a large layer (its chunk on the way, not at the registry), then the same
    upload again: it continues the registry's unfinished upload (noted in the state dir) and sends
    again only a small part of the layer."""
    path, digest = _layer(tmp_path)
    proxy = fault_proxy(registry)
    notes = tmp_path / "state" / "uploads"
    held = proxy.pause("PATCH", UPLOADS, from_bytes=LAYER // 2)  # the chunk past half the layer, in flight
    killed = subprocess.Popen(
        [sys.executable, "-c", UPLOAD_PROCESS, proxy.url, str(notes), str(path), digest, str(LAYER), REPOSITORY],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        held.wait_hit(60)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        held.release(forward=False)  # the link is gone: the chunk never reaches the registry
    assert killed.returncode == -signal.SIGKILL
    assert list(notes.glob("*.json"))  # the unfinished upload is noted
    with RegistryClient(proxy.url, insecure=True) as client, path.open("rb") as stream:
        client.uploads = UploadMemo(notes)
        client.put_blob(REPOSITORY, digest, LAYER, stream)
        assert client.blob_exists(REPOSITORY, digest)
    resent = _sent(proxy) - LAYER
    assert resent <= LAYER * 15 // 100, f"{resent / LAYER:.1%} of the layer sent again"
    assert not list(notes.glob("*.json"))  # the note goes with the finished upload


def test_a_sigterm_at_half_a_large_layer_leaves_the_upload_for_the_re_run(
    registry: RegistryServer, fault_proxy: Callable[..., FaultProxy], tmp_path: Path
) -> None:
    """``archfuse import`` stopped safely (SIGTERM, as a dropped SSH session's SIGHUP) while half of
    a large layer is at the registry: the stop keeps the registry's unfinished upload and its note,
    and the re-run continues it, sending again only a small part of the layer."""
    package = write_sample_package(tmp_path / "pkg", "v0.12.0", "amd64", payload=LAYER, charts=["metrics-server"])
    layer = max(layer.size for image in scan_package(package).images for layer in image.layers)
    assert layer > 16 << 20  # a chunked upload
    proxy = fault_proxy(registry)
    held = proxy.pause("PATCH", UPLOADS, from_bytes=layer // 2)  # the chunk past half the layer, in flight
    state = tmp_path / "state"
    command = ["import", str(package), "--registry", proxy.url, "--insecure", "--yes", "--json"]
    stopped = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *command], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "ARCHFUSE_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)},
    )
    try:
        held.wait_hit(60)
        stopped.send_signal(signal.SIGTERM)
        _out, err = stopped.communicate(timeout=30)
    finally:
        if stopped.poll() is None:
            stopped.kill()
            stopped.wait()
        held.release(forward=False)  # the link is gone: the chunk never reaches the registry
    assert stopped.returncode == STOPPED_EXIT, err
    assert list((state / "uploads").glob("*.json"))  # the unfinished upload is noted, not cancelled
    again = archfuse(*command, state_dir=state)
    assert again.code == 0, again.err
    resent = proxy.received("PATCH", UPLOADS) - layer  # both runs: the layer once, and what went again
    assert resent <= layer * 15 // 100, f"{resent / layer:.1%} of the layer sent again"


# -- a registry that goes away and comes back ----------------------------------------------------


def _import(registry: RegistryServer, tmp_path: Path, payload: int, **config: Any) -> tuple[PackageIndex, RegistryTarget]:
    """A package and the registry as a run opens it (the shipped retry budget unless ``config`` says)."""
    package = write_sample_package(tmp_path / "pkg", "v0.12.0", "amd64", payload=payload)
    target = open_registry(registry.url, username=None, password=None,
                           config=TargetConfig(registry_url=registry.url, insecure=True, **config))
    return scan_package(package), target


def test_a_registry_restarted_twice_for_20_s_during_a_run_is_waited_for(
    registry: RegistryServer, tmp_path: Path
) -> None:
    """Two 20-second restarts of the registry in one run: the default retry budget rides them;
    the run ends done and verify finds every image."""
    index, target = _import(registry, tmp_path, 6 << 20)
    plan = build_plan([index], target)
    outages: list[threading.Thread] = []
    back = threading.Event()
    back.set()

    def outage() -> None:
        registry.stop()
        threading.Event().wait(20)  # the fault itself: the registry is away for 20 s
        registry.start()
        back.set()

    def emit(event: ev.Event) -> None:
        if isinstance(event, ev.BlobDone) and len(outages) < 2 and back.is_set():
            back.clear()
            outages.append(threading.Thread(target=outage))
            outages[-1].start()

    retries: list[ev.Event] = []
    try:
        summary = ImportRun(plan, target, options=RunOptions(workers=1),
                            emit=lambda e: (emit(e), retries.append(e) if isinstance(e, ev.Retrying) else None)).execute()
    finally:
        target.close()
    for thread in outages:
        thread.join()
    assert len(outages) == 2 and retries  # both outages happened while the run went on
    assert summary.status == "done", summary.failures
    _verified(index, registry)


def test_a_frozen_registry_shows_a_stall_line_within_5_s_and_the_run_finishes(
    registry: RegistryServer, tmp_path: Path
) -> None:
    """The registry frozen (``kill -STOP``) for 8 s mid-upload: the stall line comes within 5 s, the
    stuck requests are abandoned after the stall timeout (2 s here) and retried, and the run
    finishes once the registry thaws (90 s by hand: BENCHMARKS.md)."""
    index, target = _import(registry, tmp_path, 24 << 20, stall_timeout=2.0)
    plan = build_plan([index], target)
    frozen: list[float] = []
    stalls: list[ev.Stalled] = []

    def emit(event: ev.Event) -> None:
        if isinstance(event, ev.BytesProgress) and event.bytes_done and not frozen:
            registry.pause()
            frozen.append(time.time())
            threading.Timer(8.0, registry.resume).start()
        if isinstance(event, ev.Stalled):
            stalls.append(event)

    try:
        summary = ImportRun(plan, target, emit=emit).execute()
    finally:
        target.close()
    assert frozen and stalls
    assert stalls[0].at - frozen[0] <= 5.0  # the requirement itself: the stall line within 5 s
    assert "retried on a new connection" in stalls[0].waiting_for and "open" in stalls[0].waiting_for
    assert summary.status == "done", summary.failures
    _verified(index, registry)
