"""The journal's per-package view of a target: which version × arch was imported, by which run."""

from __future__ import annotations

from pathlib import Path

from core.package.model import PackageIndex
from core.record.journal import Journal

TARGET = "https://registry.example:5000"


def _package(version: str, arch: str = "amd64") -> PackageIndex:
    name = f"addon-offline-full-package-{version}-{arch}.tar.gz"
    return PackageIndex(f"/p/{name}", name, version, arch, 10, "missing")


def test_imported_packages_keeps_the_newest_done_import_not_rolled_back(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        assert journal.imported_packages(TARGET) == {}
        first = journal.start_run("import", TARGET, [_package("v1"), _package("v1", "arm64")], {})
        journal.finish_run(first, "done", {}, 0)
        again = journal.start_run("import", TARGET, [_package("v1")], {})
        journal.finish_run(again, "done", {}, 0)
        failed = journal.start_run("import", TARGET, [_package("v2")], {})
        journal.finish_run(failed, "failed", {}, 0, "broken")
        other = journal.start_run("import", "oci:/elsewhere", [_package("v3")], {})
        journal.finish_run(other, "done", {}, 0)
        undone = journal.start_run("import", TARGET, [_package("v4")], {})
        journal.finish_run(undone, "done", {}, 0)
        rollback = journal.start_run("rollback", TARGET, [], {}, parent=undone)
        journal.finish_run(rollback, "done", {}, 0)
        found = journal.imported_packages(TARGET + "/")
        assert {key: run for key, (run, _ended) in found.items()} == {
            ("v1", "amd64"): again, ("v1", "arm64"): first
        }
        assert all(ended > 0 for _run, ended in found.values())
