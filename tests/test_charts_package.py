"""Repacking is deterministic; bad charts are refused with a sentence naming the bundle."""

from __future__ import annotations

import dataclasses
import gzip
import io
import tarfile

import pytest

from core.charts.pipeline import prepare_chart
from core.charts.repack import repack, unpack
from core.charts.validate import Limits
from core.errors import ChartError
from core.oci.digest import sha256_digest
from tests.fixtures.chartfiles import IMAGES, chart_files

HOST = "registry.example.com"
BUNDLE = "metrics-server_3.8.2.bundle.tar"


def test_repack_is_deterministic_and_sorted() -> None:
    files = {"values.yaml": b"a: 1\n", "Chart.yaml": b"name: c\nversion: 1.0.0\n", "templates/x.yaml": b"x"}
    one = repack("c", files)
    two = repack("c", dict(reversed(list(files.items()))))
    assert one == two
    assert one[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no FNAME flag, mtime 0
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(one))) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["c/Chart.yaml", "c/templates/x.yaml", "c/values.yaml"]
    assert {(m.mtime, m.uid, m.gid, m.mode, m.uname, m.gname) for m in members} == {
        (946684800, 0, 0, 0o644, "", "")
    }
    assert unpack(one, what="t") == ("c", files)


def test_prepare_chart_twice_gives_same_bytes() -> None:
    first = prepare_chart(chart_files(), host=HOST, prefix="p", imported_refs=IMAGES)
    second = prepare_chart(chart_files(), host=HOST, prefix="p", imported_refs=IMAGES)
    assert first.tgz == second.tgz and first.digest == second.digest == sha256_digest(first.tgz)
    assert (first.name, first.version, first.repo, first.filename) == (
        "metrics-server",
        "3.8.2",
        "addon",
        "metrics-server-3.8.2.tgz",
    )
    top, files = unpack(first.tgz, what="t")
    assert top == "metrics-server"
    assert sorted(files) == [
        "Chart.yaml",
        "charts/dirsub/Chart.yaml",
        "charts/dirsub/values.yaml",
        "charts/tgzsub-0.2.0.tgz",
        "templates/deployment.yaml",
        "values.yaml",
    ]
    assert first.warnings == (
        "No hint covers the image in values.yaml: unhinted (ghcr.io/stray/image:1.0); "
        "it would be pulled from outside the air gap.",
    )
    other_host = prepare_chart(chart_files(), host="other.example.com", prefix="p", imported_refs=IMAGES)
    assert other_host.digest != first.digest


def _with_files(**changes: bytes | None) -> object:
    source = chart_files()
    files = dict(source.files)
    for path, data in changes.items():
        path = path.replace("__", "/").replace("_DOT_", ".")
        if data is None:
            files.pop(path, None)
        else:
            files[path] = data
    return dataclasses.replace(source, files=files)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"Chart_DOT_yaml": b"name: [unclosed\n"},
            "Chart.yaml in bundle metrics-server_3.8.2.bundle.tar is not valid YAML",
        ),
        ({"Chart_DOT_yaml": b"- a list\n"}, "is not a mapping"),
        ({"Chart_DOT_yaml": b"version: 3.8.2\n"}, "has no valid name"),
        ({"Chart_DOT_yaml": b"name: metrics-server\n"}, "has no valid version"),
        (
            {"Chart_DOT_yaml": b"name: metrics-server\nversion: 9.9.9\n"},
            "names metrics-server 9.9.9, but the bundle is",
        ),
        ({"Chart_DOT_yaml": None}, "has no Chart.yaml"),
        (
            {"values_DOT_yaml": b"image: [\n"},
            "values.yaml in bundle metrics-server_3.8.2.bundle.tar is not valid YAML",
        ),
    ],
)
def test_bad_chart_yaml_and_values(files: dict[str, bytes | None], message: str) -> None:
    with pytest.raises(ChartError, match=message.replace(".", r"\.").replace("[", r"\[")) as err:
        prepare_chart(_with_files(**files), host=HOST)
    assert BUNDLE in str(err.value)


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape.yaml", "templates/../../x", "a\\b", "C:/x"])
def test_hostile_names_are_refused(name: str) -> None:
    source = chart_files()
    bad = dataclasses.replace(source, files={**source.files, name: b"x"})
    with pytest.raises(ChartError, match=f"bundle {BUNDLE} holds a file with a hostile name"):
        prepare_chart(bad, host=HOST)


def _tar_gz(entries: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in entries:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def test_hostile_subchart_archive_is_refused() -> None:
    chart_yaml = tarfile.TarInfo("evil/Chart.yaml"), b"name: evil\nversion: 1.0.0\n"
    escape = tarfile.TarInfo("evil/../../etc/cron.d/x"), b"boom"
    link = tarfile.TarInfo("evil/link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    source = chart_files()
    for entries, message in [
        ([chart_yaml, escape], "hostile name"),
        ([chart_yaml, (link, b"")], "not a regular file"),
    ]:
        bad = dataclasses.replace(source, files={**source.files, "charts/evil-1.0.0.tgz": _tar_gz(entries)})
        with pytest.raises(ChartError, match=message) as err:
            prepare_chart(bad, host=HOST)
        assert BUNDLE in str(err.value) and "charts/evil-1.0.0.tgz" in str(err.value)


def test_oversized_files_are_refused() -> None:
    source = chart_files()
    big = dataclasses.replace(source, files={**source.files, "files/blob.bin": b"\0" * 2048})
    with pytest.raises(
        ChartError, match=f"bundle {BUNDLE} holds 'files/blob.bin' of 2048 bytes, over the 1024 byte limit"
    ):
        prepare_chart(big, host=HOST, limits=Limits(file_size=1024))
    with pytest.raises(ChartError, match="more than 256 bytes"):
        prepare_chart(source, host=HOST, limits=Limits(total_size=256))
    # an oversized member inside a subchart archive is refused before it is read
    bomb = _tar_gz(
        [
            (tarfile.TarInfo("bomb/Chart.yaml"), b"name: bomb\nversion: 1.0.0\n"),
            (tarfile.TarInfo("bomb/x"), b"\0" * 4096),
        ]
    )
    bad = dataclasses.replace(source, files={**source.files, "charts/bomb-1.0.0.tgz": bomb})
    with pytest.raises(ChartError, match="'bomb/x' of 4096 bytes"):
        prepare_chart(bad, host=HOST, limits=Limits(file_size=2048))
