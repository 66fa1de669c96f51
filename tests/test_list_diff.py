"""``archfuse list`` and ``archfuse diff`` agree with an independent reading of the packages (tarfile)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tar_reading import read_package
from tui.cli import main


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    capsys.readouterr()
    assert main([str(a) for a in args]) == 0
    return capsys.readouterr().out


def test_list_agrees_with_the_tar_files(sample_package: Callable[..., Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = sample_package("v0.12.0", "amd64")
    tar = read_package(path)
    state = tmp_path / "state"
    doc = json.loads(_run(capsys, "list", path, "--format", "json", "--state-dir", state))
    (package,) = doc["packages"]
    assert (package["kind"], package["version"], package["arch"], package["checksum"]) == ("full", "v0.12.0", "amd64", "ok")
    assert {(c["repo"], c["name"], c["version"]) for c in package["charts"]} == {
        (c.repo, c.name, c.version) for c in tar.charts
    }
    assert {(i["ref"], i["platform"], i["digest"], i["config"], i["size"]) for i in package["images"]} == {
        (i.ref, i.platform, i.digest, i.config[0], i.size) for i in tar.images
    }
    assert {i["ref"]: i["charts"] for i in package["images"]} == {i.ref: [i.chart] for i in tar.images}
    assert {i["target"] for i in package["images"]} == {i.ref.split("/", 1)[1] for i in tar.images}

    # the charts taken, references on a registry, as CSV (warm cache: the same answer)
    out = _run(capsys, "list", path, "--format", "csv", "--charts", "redis,ingress-*", "--registry",
               "http://reg.example:5000", "--prefix", "mirror", "--state-dir", state)
    rows = list(csv.DictReader(io.StringIO(out)))
    taken = {"redis", "ingress-nginx"}
    assert {r["name"] for r in rows if r["record"] == "chart"} == taken
    images = {r["source"]: r for r in rows if r["record"] == "image"}
    assert set(images) == {i.ref for i in tar.images if i.chart in taken}
    assert images["docker.io/bitnami/redis:7.0.11"]["target"] == "reg.example:5000/mirror/bitnami/redis:7.0.11"
    assert {r["checksum"] for r in rows} == {"ok"}


def test_diff_agrees_with_the_tar_files(sample_package: Callable[..., Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    old_path, new_path = sample_package("v0.11.0", "amd64"), sample_package("v0.12.0", "amd64")
    old, new = read_package(old_path), read_package(new_path)
    doc = json.loads(_run(capsys, "diff", old_path, new_path, "--json", "--state-dir", tmp_path / "state"))

    old_charts = {c.name: c.version for c in old.charts}
    new_charts = {c.name: c.version for c in new.charts}
    expected = {n: (old_charts.get(n, ""), new_charts.get(n, "")) for n in set(old_charts) | set(new_charts)
                if old_charts.get(n) != new_charts.get(n)}
    assert expected  # the sample versions differ
    assert {c["name"]: (c["old"], c["new"]) for c in doc["charts"]} == expected

    was = {(i.ref, i.platform): i.digest for i in old.images}
    now = {(i.ref, i.platform): i.digest for i in new.images}
    changes = {k: ("new" if k not in was else "removed" if k not in now else "changed")
               for k in set(was) | set(now) if was.get(k) != now.get(k)}
    assert {(i["ref"], i["platform"]): i["change"] for i in doc["images"]} == changes

    moving = {d: s for d, s in new.blobs().items() if d not in old.blobs()}
    assert (doc["blobs"], doc["bytes"]) == (len(moving), sum(moving.values()))
    assert doc["bytes_per_arch"] == {"amd64": sum(moving.values())}

    # the charts taken only
    doc = json.loads(_run(capsys, "diff", old_path, new_path, "--json", "--charts", "cert-manager",
                          "--state-dir", tmp_path / "state"))
    assert [c["name"] for c in doc["charts"]] == ["cert-manager"]
    moving = {d: s for d, s in new.blobs({"cert-manager"}).items() if d not in old.blobs({"cert-manager"})}
    assert doc["bytes"] == sum(moving.values())


def test_a_chart_pattern_that_names_nothing_is_refused(sample_package: Callable[..., Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = sample_package("v0.12.0", "amd64")
    assert main(["list", str(path), "--charts", "redsi", "--state-dir", str(tmp_path)]) == 2
    assert "No chart of the packages is named redsi" in capsys.readouterr().err


def test_diff_against_a_target_takes_what_the_journal_says_it_holds(
    sample_package: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``diff NEW --registry TARGET``: OLD is the older package the journal says was imported there; the
    answer is the one ``diff OLD NEW`` gives. Before any import, it says there is nothing to compare with."""
    old, new = sample_package("v0.11.0", "amd64"), sample_package("v0.12.0", "amd64")
    state, layout = tmp_path / "state", tmp_path / "layout"
    capsys.readouterr()
    assert main(["diff", str(new), "--registry", str(layout), "--state-dir", str(state)]) == 2
    assert "knows no import into" in capsys.readouterr().err
    assert main(["import", str(old), "--registry", str(layout), "--yes", "--state-dir", str(state)]) == 0
    against_target = json.loads(_run(capsys, "diff", new, "--registry", layout, "--json", "--state-dir", state))
    between = json.loads(_run(capsys, "diff", old, new, "--json", "--state-dir", state))
    assert against_target == between and against_target["images"] and against_target["old"] == [str(old)]
    capsys.readouterr()
    assert main(["diff", str(old), str(new), "--registry", str(layout), "--state-dir", str(state)]) == 2
    assert "takes OLD and NEW packages, or NEW and a target" in capsys.readouterr().err
