"""Reader edge cases: docker save's layer links, as docker writes them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import PackageError
from core.package.reader import ImagesFound, iter_package
from core.package.tarwrite import Content, Entry

LINKED = "f" * 64


def _images_tar(entries: list[Entry]) -> Entry:
    def walk(es: list[Entry]) -> Iterator[Entry]:
        for e in es:
            if e.name == "images.tar":
                yield e
            if e.children:
                yield from walk(e.children)

    return next(walk(entries))


def _link_second_layer(kind: str, linkname: str | None = None) -> Any:
    """Point the first image's second layer at a link (``kind``) to its first layer's member."""

    def mutate(entries: list[Entry]) -> None:
        kids = _images_tar(entries).children
        assert kids is not None
        man = next(e for e in kids if e.name == "manifest.json")
        assert man.content is not None and man.content.data is not None
        doc = json.loads(man.content.data)
        first = doc[0]["Layers"][0]
        target = linkname or (f"../{first}" if kind == "symlink" else first)
        kids.remove(man)
        kids += [Entry(f"{LINKED}/", "dir"), Entry(f"{LINKED}/layer.tar", kind, linkname=target)]
        doc[0]["Layers"][1] = f"{LINKED}/layer.tar"
        kids.append(Entry("manifest.json", content=Content.of(json.dumps(doc).encode())))

    return mutate


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_docker_save_legacy_layer_links_resolve(sample_package: Any, kind: str) -> None:
    """``docker save`` (before v25) writes a repeated layer as ``<id>/layer.tar -> ../<first>/layer.tar``."""
    path: Path = sample_package(
        flavour="docker-legacy", charts=["metrics-server"], mutate=_link_second_layer(kind)
    )
    (image,) = [i for it in iter_package(path) if isinstance(it, ImagesFound) for i in it.images]
    assert image.layers[1].member == image.layers[0].member
    assert image.layers[1].digest == image.layers[0].digest


@pytest.mark.parametrize("linkname", ["../../etc/passwd", "/etc/passwd", "a/../../../x"])
def test_links_out_of_images_tar_are_refused(sample_package: Any, linkname: str) -> None:
    path: Path = sample_package(
        flavour="docker-legacy", charts=["metrics-server"], mutate=_link_second_layer("symlink", linkname)
    )
    with pytest.raises(PackageError, match="outside images.tar"):
        list(iter_package(path))


def test_scan_cache_misses_a_file_rewritten_in_place_with_its_mtime_put_back(
    sample_package: Any, tmp_path: Path
) -> None:
    import os

    from core.package.scan import scan_package

    path: Path = sample_package(charts=["metrics-server"])
    state = tmp_path / "state"
    assert scan_package(path, state_dir=state).checksum == "ok"
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, same inode, other bytes
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    while path.stat().st_ctime_ns == st.st_ctime_ns:  # a coarse clock: touch again until the ctime ticks
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_ino == st.st_ino
    try:
        again = scan_package(path, state_dir=state)
    except PackageError:
        return  # read again and found corrupt: not the stale index
    assert again.checksum == "mismatch"
