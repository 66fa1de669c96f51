"""One image under thousands of tags (issue 19, item 6): linear work, and the tag phase rides out
transient server errors on the reads that follow its own tag writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core import events as ev
from core.demo.samples import write_sample_package
from core.package.model import PackageIndex
from core.package.scan import scan_package
from core.plan.images import build_plan
from core.registry.client import RegistryClient
from core.registry.retry import RetryPolicy
from core.run.engine import ImportRun, RunOptions
from core.targets import layout as layout_module
from core.targets.layout import LayoutTarget, list_refs
from core.targets.registry import RegistryTarget
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.imports import make_package
from tests.fixtures.registry import RegistryServer, skopeo_inspect_raw

TAGS = 1500


@pytest.fixture(scope="module")
def many_tags(tmp_path_factory: pytest.TempPathFactory) -> PackageIndex:
    """A package of one image (metrics-server) under 1 + TAGS tags."""
    root = tmp_path_factory.mktemp("many-tags")
    path = write_sample_package(root, "v0.12.0", "amd64", charts=["metrics-server"], extra_tags=TAGS)
    index = scan_package(path, state_dir=root / "state")
    assert len(index.images) == 1 and len(index.images[0].refs) == TAGS + 1
    return index


def test_layout_import_of_many_tags_reads_and_writes_index_json_linearly(
    many_tags: PackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bytes of index.json parsed and written over a whole import (plan, tag phase, read-backs,
    convergence) stay a small multiple of its final size, not tags x its size."""
    handled = {"reads": 0, "writes": 0, "bytes": 0}
    read, write = layout_module._read_index, LayoutTarget._write_index

    def counted_read(path: Path) -> dict[str, object]:
        handled["reads"] += 1
        handled["bytes"] += path.stat().st_size
        return read(path)

    def counted_write(self: LayoutTarget, doc: dict[str, object]) -> None:
        write(self, doc)
        handled["writes"] += 1
        handled["bytes"] += self._index.stat().st_size

    monkeypatch.setattr(layout_module, "_read_index", counted_read)
    monkeypatch.setattr(LayoutTarget, "_write_index", counted_write)
    target = LayoutTarget(tmp_path / "layout")
    target.ping()
    summary = ImportRun(build_plan([many_tags], target), target, options=RunOptions(settle=0.0)).execute()

    assert summary.status == "done", summary.failures
    assert len(list_refs(target.path)) == TAGS + 1
    final = (target.path / "index.json").stat().st_size
    assert handled["bytes"] <= 8 * final, handled  # linear: a few passes over the index, not one per tag
    assert handled["reads"] + handled["writes"] <= 8, handled


def test_transient_500_on_the_read_after_a_tag_put_is_retried(
    registry: RegistryServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    """The registry answers 500 to every try of the read that follows the run's own tag PUT (seen
    under thousands of tags of one image): the run waits and reads again, and ends done, fused."""
    proxy = fault_proxy(registry)
    client = RegistryClient(proxy.url, insecure=True, retries=RetryPolicy(base_delay=0.01, attempts=5))
    target = RegistryTarget(client)
    package = make_package(target, "v1", "amd64")
    # the plan's read (1), the read before the PUT (2), then every try of the read after it
    after_put = proxy.fail("GET", r"^/v2/addon/app/manifests/1\.0$", 500, nth=3, times=client.retries.attempts)
    seen: list[ev.Event] = []
    summary = ImportRun(build_plan([package], target), target, emit=seen.append, options=RunOptions(settle=0.0)).execute()

    assert summary.status == "done", summary.failures
    assert after_put.fired == client.retries.attempts
    assert any(isinstance(e, ev.Retrying) and "addon/app:1.0" in e.what for e in seen)
    raw = skopeo_inspect_raw(f"{registry.host}/addon/app:1.0", registry)
    assert [m["digest"] for m in raw["manifests"]] == [package.images[0].manifest.digest]
