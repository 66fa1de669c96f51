"""``--jobs auto`` (the default) against the real registry behind a proxy that throttles (429) the
uploads in flight over a limit: auto backs off below the limit, a fixed ``--jobs 8`` does not.
Counted by the proxy (uploads in flight as each arrived, refusals), never timed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.demo.samples import write_sample_package
from core.helpers.parallel import ROUND_TRIPS_PER_JOB
from tests.cli_driver import archfuse
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.registry import RegistryServer

#: uploads (the PUT that carries a blob) the proxy lets go at once; more are answered 429
LIMIT = 10


@pytest.fixture(scope="module")
def many_blobs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package of many small images: well over a hundred small blobs, staged as the package is read."""
    return write_sample_package(tmp_path_factory.mktemp("jobs"), "v9.0.0", "amd64", bulk=60)


@pytest.mark.parametrize("jobs", ["auto", "8"])
def test_auto_jobs_back_off_below_a_throttling_registry(
    jobs: str, many_blobs: Path, registry: RegistryServer, fault_proxy: Callable[..., FaultProxy], tmp_path: Path
) -> None:
    proxy = fault_proxy(registry, lifetime=240.0)
    crowd = proxy.crowd("PUT", r"/blobs/uploads/", LIMIT, status=429)
    # each upload takes a while: the read queues small blobs faster than they go, so the slots (not
    # the read) decide how many are in flight
    proxy.delay("PUT", r"/blobs/uploads/", 0.05, times=0)
    flags = ("--verbose",) if jobs == "auto" else ("--jobs", jobs)  # auto: the default, not named
    done = archfuse("import", many_blobs, "--registry", proxy.url, "--insecure", "--yes", "--json", *flags,
                    state_dir=tmp_path / "state")
    assert done.code == 0, done.err[-2000:]
    events = [json.loads(line) for line in done.out.splitlines() if line.startswith("{")]
    changes = [e for e in events if e["event"] == "jobs_changed"]
    uploads = len(crowd.arrivals)
    assert uploads > 100 and crowd.refused >= 1  # the limit was met
    if jobs != "auto":  # the yardstick: a fixed --jobs 8 sends 32 small uploads at once, again and again
        assert changes == [] and crowd.refused > uploads // 4
        return
    cuts = [e["jobs"] for e in changes if e["why"] == "the target throttled or failed"]
    assert cuts and all(n * ROUND_TRIPS_PER_JOB <= LIMIT for n in cuts)  # each cut goes below the limit
    over = sum(1 for n in crowd.arrivals if n > LIMIT)
    assert crowd.refused == over and over <= uploads // 10  # auto stays below it but for a probe now and then
    assert [e["jobs"] for e in changes][:1] == [3]  # it raised first (from 2), and it was told
