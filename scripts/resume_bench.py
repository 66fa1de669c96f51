#!/usr/bin/env python3
"""Bytes sent again when a large layer's upload breaks, and how soon a frozen registry is noticed
(issue 20; figures in BENCHMARKS.md).

Against the real registry (CNCF distribution) behind the fault proxy, a layer of ``--size``
(default 1 GiB) is uploaded by archfuse's registry client, broken half-way in each of these ways,
and completed; the proxy counts the blob bytes it read from archfuse, so ``re-sent`` is what went
over the link twice:

* ``reset``   the chunk crossing half the layer is half read by the proxy, then its connection is
  reset and nothing of it reaches the registry (a link that broke in front of a buffering proxy);
* ``kill -9`` the uploading process is killed while that chunk is on its way (held by the proxy,
  never forwarded), then the same upload is started again with the same state dir;
* ``cut``     half of that chunk reaches the registry, then the connection is reset.

``--freeze SECONDS`` also imports a sample package and freezes the registry (``kill -STOP``) for
that long mid-upload: the time to the first stall line, and whether the run finishes.

    PYTHONPATH=. .venv/bin/python scripts/resume_bench.py --size 1GiB --freeze 90
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import events as ev
from core.config import TargetConfig
from core.demo.samples import write_sample_package
from core.package.scan import scan_package
from core.plan.images import build_plan
from core.registry.client import RegistryClient
from core.registry.uploads import UploadMemo
from core.run.engine import ImportRun
from core.targets.connect import open_registry
from core.units import parse_size, size_text
from tests.fixtures.faultproxy import UPLOAD_PROCESS, FaultProxy
from tests.fixtures.registry import RegistryServer

UPLOADS = r"^/v2/.+/blobs/uploads/"

def _layer(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(left, 8 << 20))
            digest.update(block)
            out.write(block)
            left -= len(block)
    return "sha256:" + digest.hexdigest()


def _upload(url: str, notes: Path, path: Path, digest: str, size: int, repository: str) -> None:
    with RegistryClient(url, insecure=True) as client, path.open("rb") as stream:
        client.uploads = UploadMemo(notes)
        client.put_blob(repository, digest, size, stream)
        assert client.blob_exists(repository, digest)


def _sent(proxy: FaultProxy) -> int:
    return proxy.received("PATCH|PUT", UPLOADS)


def breaks(registry: RegistryServer, work: Path, size: int) -> None:
    layer = work / "layer.bin"
    digest = _layer(layer, size)
    for name in ("reset", "kill -9", "cut"):
        proxy = FaultProxy(registry.host, lifetime=3600, pause_timeout=600)
        notes = work / f"notes-{name.replace(' ', '')}"
        repository = f"bench/{name.replace(' ', '').replace('-', '')}"
        started = time.monotonic()
        if name == "reset":
            rule = proxy.drop("PATCH", UPLOADS, from_bytes=size // 2)
            _upload(proxy.url, notes, layer, digest, size, repository)
        elif name == "cut":
            rule = proxy.cut("PATCH", UPLOADS)
            rule.from_bytes = size // 2
            _upload(proxy.url, notes, layer, digest, size, repository)
        else:
            rule = proxy.pause("PATCH", UPLOADS, from_bytes=size // 2)
            child = subprocess.Popen(
                [sys.executable, "-c", UPLOAD_PROCESS, proxy.url, str(notes), str(layer), digest, str(size), repository],
                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
            )
            rule.wait_hit(600)
            child.send_signal(signal.SIGKILL)
            child.wait()
            rule.release(forward=False)
            _upload(proxy.url, notes, layer, digest, size, repository)
        seconds = time.monotonic() - started
        resent = _sent(proxy) - size
        print(f"{name:8} fired={rule.fired} re-sent {size_text(resent)} = {resent / size:.1%} of "
              f"{size_text(size)} ({seconds:.1f} s)", flush=True)
        proxy.close()


def freeze(registry: RegistryServer, work: Path, seconds: float) -> None:
    package = write_sample_package(work / "pkg", "v0.12.0", "amd64", payload=256 << 20)
    index = scan_package(package)
    target = open_registry(registry.url, username=None, password=None,
                           config=TargetConfig(registry_url=registry.url, insecure=True))
    plan = build_plan([index], target)
    frozen: list[float] = []
    stalls: list[ev.Stalled] = []
    retries: list[ev.Retrying] = []

    def emit(event: ev.Event) -> None:
        if isinstance(event, ev.BytesProgress) and event.bytes_done > 32 << 20 and not frozen:
            registry.pause()
            frozen.append(time.time())
            threading.Timer(seconds, registry.resume).start()
        elif isinstance(event, ev.Stalled):
            stalls.append(event)
        elif isinstance(event, ev.Retrying):
            retries.append(event)

    started = time.monotonic()
    try:
        summary = ImportRun(plan, target, emit=emit).execute()
    finally:
        target.close()
    first = stalls[0].at - frozen[0] if stalls and frozen else float("nan")
    print(f"freeze {seconds:g} s: first stall line {first:.2f} s after the freeze ({stalls[0].waiting_for if stalls else ''});"
          f" {len(retries)} retries; run {summary.status} in {time.monotonic() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1GiB", help="the layer's size (default 1GiB)")
    parser.add_argument("--freeze", type=float, default=0.0, help="also freeze the registry this many seconds")
    parser.add_argument("--no-breaks", action="store_true", help="only the freeze")
    args = parser.parse_args()
    size = parse_size(args.size, flag="--size")
    with tempfile.TemporaryDirectory(prefix="archfuse-resume-") as tmp:
        work = Path(tmp)
        registry = RegistryServer(work / "registry")
        registry.start()
        try:
            if not args.no_breaks:
                breaks(registry, work, size)
            if args.freeze:
                freeze(registry, work, args.freeze)
        finally:
            registry.close()


if __name__ == "__main__":
    main()
