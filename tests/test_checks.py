"""Preflight checks of the target side: flavour, registry spaces (Harbor projects, against the Harbor
test server that follows Harbor's swagger), target disk and the vendor installer's leftovers."""

from __future__ import annotations

import os
import socket
from collections import namedtuple
from collections.abc import Callable
from pathlib import Path

import pytest

from core.checks import disks
from core.checks.disks import check_disk_for_target
from core.checks.leftovers import (
    LEFTOVER_NAME,
    check_vendor_leftovers,
    clean_vendor_leftovers,
    find_vendor_leftovers,
    remove_vendor_leftovers,
)
from core.checks.spaces import check_flavour, check_spaces, create_spaces
from core.errors import SpaceMissing, UsageError
from core.kinds import CheckStatus, RegistryFlavour
from core.package.scan import scan_paths
from core.registry.credentials import Credentials
from core.registry.harbor import Flavour, HarborClient
from core.registry.retry import NO_RETRY
from tests.fixtures.harbor import HarborTestServer
from tests.fixtures.registry import RegistryServer

ADMIN = Credentials("admin", "Harbor12345")
REPOS = {"addon/metrics-server", "addon/metrics-server/addon-resizer", "community/nginx", "library/busybox"}


def client_for(server: HarborTestServer, credentials: Credentials | None = ADMIN) -> HarborClient:
    return HarborClient(server.url, credentials=credentials, insecure=True)


# -- flavour -----------------------------------------------------------------------------------


def test_check_flavour_harbor(harbor_factory: Callable[..., HarborTestServer]) -> None:
    harbor = harbor_factory(creation_restriction="adminonly")
    flavour, check = check_flavour(client_for(harbor))
    assert flavour is not None and flavour.name == RegistryFlavour.HARBOR
    assert check.status == CheckStatus.OK
    assert (
        "is Harbor (v2.10.0-test)" in check.detail
        and "only administrators may create projects" in check.detail
    )


def test_check_flavour_plain_registry(registry: RegistryServer) -> None:
    flavour, check = check_flavour(HarborClient(registry.url, insecure=True))
    assert flavour == Flavour(RegistryFlavour.DISTRIBUTION)
    assert check.status == CheckStatus.OK and "plain registry" in check.detail


def test_check_flavour_unreachable_warns() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flavour, check = check_flavour(HarborClient(f"http://127.0.0.1:{port}", insecure=True, retries=NO_RETRY))
    assert flavour is None
    assert check.status == CheckStatus.WARN and "Could not tell" in check.detail


# -- registry spaces ---------------------------------------------------------------------------


def test_spaces_on_a_plain_registry_are_implicit() -> None:
    [check] = check_spaces(REPOS, RegistryFlavour.DISTRIBUTION, None, create=False, public=False)
    assert check.status == CheckStatus.OK and "addon, community, library" in check.detail


def test_missing_spaces_fail_with_the_list_and_the_fix(harbor: HarborTestServer) -> None:
    [check] = check_spaces(REPOS, RegistryFlavour.HARBOR, client_for(harbor), create=False, public=False)
    assert check.status == CheckStatus.FAIL
    assert "lacks the projects addon, community" in check.detail
    assert "library" not in check.detail.split("need")[0]
    assert "--create-spaces" in check.detail
    assert set(harbor.projects) == {"library"}  # nothing created
    assert not harbor.calls("POST", "/api/v2.0/projects")


def test_all_spaces_present_is_ok(harbor: HarborTestServer) -> None:
    harbor.add_project("addon")
    harbor.add_project("community")
    [check] = check_spaces(REPOS, Flavour(RegistryFlavour.HARBOR), client_for(harbor), create=True, public=False)
    assert check.status == CheckStatus.OK and "every project" in check.detail
    assert not harbor.calls("POST", "/api/v2.0/projects")
    heads = harbor.calls("HEAD", "/api/v2.0/projects")
    assert sorted(dict(r.query)["project_name"] for r in heads) == ["addon", "community", "library"]


def test_create_spaces_creates_the_missing_ones(harbor: HarborTestServer) -> None:
    found = check_spaces(REPOS, RegistryFlavour.HARBOR, client_for(harbor), create=True, public=True)
    assert [c.status for c in found] == [CheckStatus.OK, CheckStatus.OK]
    assert "already has: library" in found[0].detail and found[1].items == ("addon", "community")
    assert not harbor.calls("POST", "/api/v2.0/projects")  # a check creates nothing
    result = create_spaces(client_for(harbor), found[1].items, public=True)
    assert [c.status for c in result] == [CheckStatus.OK, CheckStatus.OK]
    assert result[0].name == "registry space addon" and "Created public Harbor project 'addon'" in result[0].detail
    assert result[1].name == "registry space community"
    assert harbor.projects["addon"].public and harbor.projects["community"].public
    posts = harbor.calls("POST", "/api/v2.0/projects")
    assert [r.json["project_name"] for r in posts] == ["addon", "community"]
    # a second run finds them all
    [again] = check_spaces(REPOS, RegistryFlavour.HARBOR, client_for(harbor), create=True, public=True)
    assert again.status == CheckStatus.OK and len(harbor.calls("POST", "/api/v2.0/projects")) == 2


def test_create_spaces_private(harbor: HarborTestServer) -> None:
    result = create_spaces(client_for(harbor), ["addon"], public=False)
    assert "Created private Harbor project 'addon'" in result[0].detail
    assert harbor.projects["addon"].public is False


def test_create_spaces_409_is_fine(harbor: HarborTestServer) -> None:
    """Someone creates the project between the check and the creation: Harbor's 409 is not an error."""
    [missing] = check_spaces({"addon/x"}, RegistryFlavour.HARBOR, client_for(harbor), create=True, public=False)
    harbor.add_project("addon")  # created by someone else just now
    [check] = create_spaces(client_for(harbor), missing.items, public=False)
    assert check.status == CheckStatus.OK and "already exists" in check.detail
    assert [r.status for r in harbor.calls("POST", "/api/v2.0/projects")] == [409]


def test_create_spaces_without_rights_is_a_clear_failure(
    harbor_factory: Callable[..., HarborTestServer],
) -> None:
    harbor = harbor_factory(creation_restriction="adminonly")
    [check] = create_spaces(client_for(harbor, Credentials("dev", "dev")), ["addon"], public=False)
    assert check.status == CheckStatus.FAIL and check.name == "registry space addon"
    assert f"Harbor at {harbor.url} does not let user 'dev' create project 'addon'" in check.detail
    assert "Ask a Harbor administrator" in check.detail
    assert "addon" not in harbor.projects


def test_spaces_unknown_flavour_warns() -> None:
    [check] = check_spaces(REPOS, None, None, create=False, public=False)
    assert check.status == CheckStatus.WARN


# -- disk --------------------------------------------------------------------------------------

Usage = namedtuple("Usage", "total used free")


def test_disk_ok_on_a_real_file_system(tmp_path: Path) -> None:
    check = check_disk_for_target(tmp_path / "layout", 1024)
    assert check.status == CheckStatus.OK and str(tmp_path / "layout") in check.detail


def test_disk_measures_the_nearest_existing_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Path] = []

    def usage(path: Path) -> Usage:
        asked.append(Path(path))
        return Usage(10 << 30, 0, 10 << 30)

    monkeypatch.setattr(disks.shutil, "disk_usage", usage)
    check_disk_for_target(tmp_path / "not" / "yet", 1)
    assert asked == [tmp_path]


@pytest.mark.parametrize(
    ("free", "need", "status"),
    [
        (1 << 30, 2 << 30, CheckStatus.FAIL),
        (1 << 30, (1 << 30) - (100 << 20), CheckStatus.WARN),
        (10 << 30, 1 << 30, CheckStatus.OK),
    ],
)
def test_disk_against_the_bytes_the_plan_adds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free: int, need: int, status: str
) -> None:
    monkeypatch.setattr(disks.shutil, "disk_usage", lambda _p: Usage(free * 2, free, free))
    check = check_disk_for_target(tmp_path, need)
    assert check.status == status
    if status == CheckStatus.FAIL:
        assert "1.0 GiB free but the plan adds 2.0 GiB" in check.detail


def test_disk_remote_target() -> None:
    check = check_disk_for_target(None, 5 << 30)
    assert check.status == CheckStatus.OK and "--registry-storage" in check.detail


# -- the vendor's leftovers --------------------------------------------------------------------


def _leftover(folder: Path, sizes: list[int]) -> Path:
    work = folder / LEFTOVER_NAME
    (work / "data" / "addon").mkdir(parents=True)
    for index, size in enumerate(sizes):
        (work / "data" / "addon" / f"f{index}").write_bytes(b"x" * size)
    return work


def test_leftovers_found_with_size_and_kept(tmp_path: Path) -> None:
    packages = tmp_path / "site" / "packages"
    packages.mkdir(parents=True)
    package = packages / "addon-offline-full-package-v0.12.0-amd64.tar.gz"
    package.write_bytes(b"pkg")
    near = _leftover(packages, [1000, 2000])
    os.link(near / "data" / "addon" / "f0", near / "data" / "hardlink")  # counted once
    outside = tmp_path / "big"
    outside.write_bytes(b"y" * 50_000)
    os.symlink(outside, near / "data" / "link")  # not followed
    above = _leftover(tmp_path / "site", [500])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(above, elsewhere / LEFTOVER_NAME)  # a link named like it: not reported

    found = find_vendor_leftovers([package, packages, elsewhere])
    assert found == [(near, 3000), (above, 500)]
    check = check_vendor_leftovers(found)
    assert check.status == CheckStatus.WARN
    assert f"{near} (2.9 KiB)" in check.detail and f"{above} (500 B)" in check.detail
    assert "--clean-leftovers" in check.detail
    assert near.exists() and above.exists()  # finding and checking remove nothing


def test_no_leftovers_is_ok(tmp_path: Path) -> None:
    assert find_vendor_leftovers([tmp_path]) == []
    assert check_vendor_leftovers([]).status == CheckStatus.OK


def test_remove_leftovers_only_on_request_and_never_through_links(tmp_path: Path) -> None:
    work = _leftover(tmp_path, [10])
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious").write_text("keep me")
    os.symlink(keep, work / "data" / "linked-dir")
    removed = remove_vendor_leftovers([path for path, _ in find_vendor_leftovers([tmp_path])])
    assert removed == [work]
    assert not work.exists()
    assert (keep / "precious").read_text() == "keep me"


def test_remove_leftovers_refuses_other_paths(tmp_path: Path) -> None:
    work = _leftover(tmp_path, [10])
    other = tmp_path / "data"
    other.mkdir()
    with pytest.raises(UsageError, match="only addon-offline-target-package"):
        remove_vendor_leftovers([work, other])
    assert work.exists() and other.exists()  # refused before anything was removed
    link_home = tmp_path / "links"
    link_home.mkdir()
    os.symlink(work, link_home / LEFTOVER_NAME)
    with pytest.raises(UsageError, match="symlink"):
        remove_vendor_leftovers([link_home / LEFTOVER_NAME])
    assert work.exists()


def test_create_spaces_asked_creates_nothing_in_the_check(harbor: HarborTestServer) -> None:
    [_present, check] = check_spaces(REPOS, RegistryFlavour.HARBOR, client_for(harbor), create=True, public=False)
    assert check.status == CheckStatus.OK
    assert "lacks addon, community; the import creates them as private projects" in check.detail
    assert set(harbor.projects) == {"library"}
    assert not harbor.calls("POST", "/api/v2.0/projects")


def test_clean_leftovers_reports_what_was_freed(tmp_path: Path) -> None:
    work = _leftover(tmp_path / "packages", [2048])
    check = clean_vendor_leftovers(find_vendor_leftovers([tmp_path / "packages"]))
    assert check.status == CheckStatus.OK and f"Removed {work}, freeing 2.0 KiB" in check.detail
    assert not work.exists()
    assert clean_vendor_leftovers([]).status == CheckStatus.OK


def test_harbor_test_server_import_after_create_spaces(
    harbor_registry: HarborTestServer, sample_package: Callable[..., Path]
) -> None:
    """The whole Harbor flow: projects the package needs are missing, --create-spaces creates them,
    and the engine's plan and run then go through Harbor (the test server over the real registry)."""
    from core.plan.images import build_plan, group_images
    from core.registry.client import RegistryClient
    from core.run.engine import ImportRun
    from core.targets.registry import RegistryTarget

    packages = scan_paths([sample_package("v0.12.0", "amd64", payload=16 << 10)], use_cache=False)
    target = RegistryTarget(RegistryClient(harbor_registry.url, credentials=ADMIN, insecure=True))
    repositories = {tag.repository for tag in group_images(packages, "", target.host)}
    harbor = client_for(harbor_registry)
    [missing] = check_spaces(repositories, RegistryFlavour.HARBOR, harbor, create=False, public=False)
    assert missing.status == CheckStatus.FAIL
    with pytest.raises(SpaceMissing):  # what a push without the projects meets
        build_plan(packages, target)
    created = create_spaces(harbor, missing.items, public=False)
    assert all(c.status == CheckStatus.OK for c in created)
    plan = build_plan(packages, target)
    assert {i.action for i in plan.images} == {"new"}
    assert ImportRun(plan, target).execute().status == "done"
    assert {i.action for i in build_plan(packages, target).images} == {"unchanged"}
