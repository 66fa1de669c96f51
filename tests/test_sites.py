"""Several targets: the sites file, a repeated --registry, and the CLI's targets."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.config import Secret, TargetConfig, build_target_config
from core.errors import ConfigError
from core.kinds import RunStatus
from core.package import reader
from core.run import engine
from core.run.engine import RunOptions
from core.run.ratelimit import RateLimit
from core.session import Session, open_session, preflight_sites, run_sites
from core.targets.sites import load_sites, sites_base, sites_from_registries
from tests.cli_driver import archfuse
from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.registry import RegistryServer, skopeo_inspect_raw
from tests.test_faults import BLOB_PUT, Packages, Run, import_args, write_packages

Factory = Callable[..., RegistryServer]

BASE = TargetConfig(username="base-user", password=Secret("base-pw"), retry_for=7.0)


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_sites_file_gives_each_site_its_target_and_credentials(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EAST_PW", "east-secret")
    (tmp_path / "west.pw").write_text("west-secret\n")
    path = _file(tmp_path, """\
        sites:
          - name: east
            registry: https://east.example:5000
            username: robot
            password_env: EAST_PW
            prefix: mirror
          - name: west
            registry: http://west.example:5001
            username: w
            password_file: west.pw
            insecure: true
          - name: lab
            registry: oci:layout-dir
        """)
    east, west, lab = load_sites(path, BASE)
    assert (east.name, east.config.registry_url, east.config.username) == ("east", "https://east.example:5000", "robot")
    assert east.config.password is not None and east.config.password.reveal() == "east-secret"
    assert east.config.prefix == "mirror" and east.config.retry_for == 7.0
    assert west.config.password is not None and west.config.password.reveal() == "west-secret"
    assert west.config.insecure and not east.config.insecure
    assert lab.config.layout_path == Path("layout-dir") and lab.config.registry_url is None
    assert lab.config.username == "base-user"  # no credentials of its own: the base's


@pytest.mark.parametrize(("text", "words"), [
    ("sites:\n  - {name: a, registry: 'https://a.example', pasword: x}\n", "'pasword'"),
    ("sites:\n  - {name: a, registry: 'https://a.example'}\n  - {name: a, registry: 'https://b.example'}\n",
     "'a' is used twice"),
    ("sites:\n  - {name: a}\n", "sites[0].registry"),
    ("site:\n  - {name: a, registry: 'https://a.example'}\n", "'site'"),
    ("sites:\n  - {name: a, registry: 'https://a.example', password_env: NOT_SET_ANYWHERE_X}\n", "NOT_SET_ANYWHERE_X"),
])
def test_sites_file_mistakes_are_config_errors_naming_the_file_and_key(tmp_path: Path, text: str,
                                                                        words: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_sites(path, BASE)
    assert str(path) in str(err.value) and words in str(err.value)


def test_repeated_registries_are_sites_with_unique_names(tmp_path: Path) -> None:
    sites = sites_from_registries(
        ["https://r.example:5000", "https://r.example:5000", f"oci:{tmp_path / 'lay'}"], BASE)
    assert [s.name for s in sites] == ["r.example:5000", "r.example:5000-2", "lay"]
    assert sites[2].config.layout_path == tmp_path / "lay" and sites[0].config.username == "base-user"


def test_sites_base_takes_the_environment() -> None:
    base = sites_base(None, None, env={"ARCHFUSE_USERNAME": "u", "ARCHFUSE_PASSWORD": "p"})
    assert base.username == "u" and base.password is not None and base.password.reveal() == "p"


# -- several sites on real registries ----------------------------------------------------------


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    """v0.11.0 for amd64 and arm64 (the fault tests' packages)."""
    return write_packages(tmp_path_factory.mktemp("sites"))


def _served_platforms(server: RegistryServer, ref: str) -> set[str]:
    raw = skopeo_inspect_raw(f"{server.host}/{ref}", server)
    return {f"{m['platform']['os']}/{m['platform']['architecture']}" for m in raw.get("manifests", [])}


def _registries(urls: list[str]) -> list[str]:
    return [word for url in urls for word in ("--registry", url)]


def test_import_to_three_sites_fuses_both_arches_on_each(registry_factory: Factory, pair: Packages,
                                                        tmp_path: Path) -> None:
    servers = [registry_factory() for _ in range(3)]
    for path in (pair.amd, pair.arm):
        result = archfuse("import", path, *_registries([s.url for s in servers]), "--insecure", "--yes", "--json",
                          state_dir=tmp_path / "state")
        assert result.code == 0, result.err
        rows = result.last("sites")["sites"]
        assert [(r["site"], r["status"]) for r in rows] == [(s.host, "done") for s in servers]
        assert {e["site"] for e in result.of("run_finished")} == {s.host for s in servers}
    for server in servers:  # every tag an index with both platforms, on every site
        for ref, platforms in pair.fused.items():
            assert _served_platforms(server, ref) == set(platforms), (server.host, ref)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each package file was read through, and its bytes (``bytes:NAME``)."""
    counted: dict[str, int] = {}
    real = reader._Reader.run

    def run(self: reader._Reader) -> Iterator[reader.Item]:
        counted[self.path.name] = counted.get(self.path.name, 0) + 1
        counted[f"bytes:{self.path.name}"] = counted.get(f"bytes:{self.path.name}", 0) + self.path.stat().st_size
        return real(self)

    monkeypatch.setattr(reader._Reader, "run", run)
    return counted


def _sessions(urls: list[str], state: Path) -> list[Session]:
    return [open_session(build_target_config(url, insecure=True, env={}), state_dir=state) for url in urls]


def test_fan_out_reads_each_package_once_for_three_sites(registry_factory: Factory, pair: Packages,
                                                          reads: dict[str, int], tmp_path: Path) -> None:
    servers = [registry_factory() for _ in range(3)]
    sessions = _sessions([s.url for s in servers], tmp_path / "state")
    try:
        packages = sessions[0].scan([pair.amd])  # the scan reads it (cached from here on)
        preflights = preflight_sites(sessions, packages)
        reads.clear()
        outcomes = run_sites(sessions, preflights)
    finally:
        for session in sessions:
            session.close()
    assert [o.status for o in outcomes] == [RunStatus.DONE] * 3, [o.message for o in outcomes]
    assert reads == {pair.amd.name: 1, f"bytes:{pair.amd.name}": pair.amd.stat().st_size}
    for server in servers:
        for ref, platforms in pair.amd_tags.items():
            assert _served_platforms(server, ref) == set(platforms)


def test_a_site_that_dies_mid_run_fails_alone_and_is_resumed_alone(
    registry_factory: Factory, fault_proxy: Callable[..., FaultProxy], pair: Packages, tmp_path: Path
) -> None:
    servers = [registry_factory() for _ in range(3)]
    proxies = [fault_proxy(s) for s in servers]
    held = proxies[2].pause("PUT", BLOB_PUT)  # the third site's first blob upload waits here
    state = tmp_path / "state"
    run = Run(*import_args(proxies[0].url, pair.amd, extra=(
        *_registries([p.url for p in proxies[1:]]), "--retry-for", "1s")), state=state)
    try:
        held.wait_hit()
    except AssertionError:
        run.finish()
        raise AssertionError(run.err[-3000:] + run.out[-3000:]) from None
    servers[2].stop()  # the site goes away mid-run
    held.release(forward=False)
    assert run.finish() == 1, run.err
    rows = {r["site"]: r for r in run.of("sites")[-1]["sites"]}
    assert [rows[p.host]["status"] for p in proxies] == ["done", "done", "failed"], rows
    for server in servers[:2]:
        for ref, platforms in pair.amd_tags.items():
            assert _served_platforms(server, ref) == set(platforms)
    servers[2].start()
    before = [len(p.requests("PUT", BLOB_PUT)) for p in proxies]
    again = Run(*import_args(proxies[0].url, pair.amd, extra=tuple(_registries([p.url for p in proxies[1:]]))),
                state=state)
    assert again.finish() == 0, again.err
    uploads = [len(p.requests("PUT", BLOB_PUT)) - b for p, b in zip(proxies, before)]
    assert uploads[0] == uploads[1] == 0 and uploads[2] > 0, uploads
    for ref, platforms in pair.amd_tags.items():
        assert _served_platforms(servers[2], ref) == set(platforms)


def test_plan_to_several_sites_shows_each_site_checks_and_totals(registry_factory: Factory, pair: Packages,
                                                                 tmp_path: Path) -> None:
    servers = [registry_factory() for _ in range(2)]
    state = tmp_path / "state"
    assert archfuse("import", pair.amd, "--registry", servers[0].url, "--insecure", "--yes", state_dir=state).code == 0
    target = [*_registries([s.url for s in servers]), "--insecure"]
    result = archfuse("plan", pair.amd, *target, "--json", state_dir=state)
    assert result.code == 0, result.err
    doc = result.events[-1]
    assert [s["name"] for s in doc["sites"]] == [s.host for s in servers]
    first, second = doc["sites"]
    assert {i["action"] for i in first["images"]} == {"unchanged"}  # imported there already
    assert {i["action"] for i in second["images"]} == {"new"} and first["checks"] and first["charts"]
    assert first["totals"]["bytes_to_upload"] == 0 < second["totals"]["bytes_to_upload"]
    assert first["totals"]["images"] == len(first["images"]) and second["totals"]["checks"]["fail"] == 0
    text = archfuse("plan", pair.amd, *target, state_dir=state)
    header = text.out.splitlines()[0].split()
    assert text.code == 0 and header == ["check", servers[0].host, servers[1].host], text.out
    assert "Totals per site:" in text.out and f"{servers[1].host}: " in text.out


def test_sites_file_drives_an_import_and_other_commands_refuse_several_targets(
    registry_factory: Factory, pair: Packages, tmp_path: Path
) -> None:
    servers = [registry_factory(auth="htpasswd") for _ in range(2)]
    (tmp_path / "b.pw").write_text(f"{servers[1].password}\n")
    sites = _file(tmp_path, f"""\
        sites:
          - name: a
            registry: {servers[0].url}
            username: {servers[0].username}
            password_env: SITE_A_PASSWORD
            insecure: true
          - name: b
            registry: {servers[1].url}
            username: {servers[1].username}
            password_file: b.pw
            insecure: true
        """)
    state = tmp_path / "state"
    result = archfuse("import", pair.amd, "--sites", sites, "--yes", "--json", state_dir=state,
                      env={"SITE_A_PASSWORD": str(servers[0].password)})
    assert result.code == 0, result.err
    assert [(r["site"], r["status"]) for r in result.last("sites")["sites"]] == [("a", "done"), ("b", "done")]
    assert str(servers[0].password) not in result.out + result.err
    refused = archfuse("prune", "--keep", "1", "--sites", sites, state_dir=state)
    assert refused.code == 2 and "takes one target" in refused.err


def test_a_held_site_does_not_hold_the_others_within_the_spool_budget(
    registry_factory: Factory, fault_proxy: Callable[..., FaultProxy], pair: Packages, tmp_path: Path
) -> None:
    servers = [registry_factory() for _ in range(3)]
    proxies = [fault_proxy(s) for s in servers]
    held = proxies[2].pause("PUT", BLOB_PUT)  # the third site's first blob upload waits for the test
    run = Run(*import_args(proxies[0].url, pair.arm, extra=tuple(_registries([p.url for p in proxies[1:]]))),
              state=tmp_path / "state")
    held.wait_hit()
    run.wait_event("run_finished", 2)  # the other two sites finish while the third is held
    assert {e["site"] for e in run.of("run_finished")} == {proxies[0].host, proxies[1].host}
    assert all(e["status"] == "done" for e in run.of("run_finished"))
    held.release(forward=True)
    assert run.finish() == 0, run.err
    for ref, platforms in pair.arm_tags.items():
        assert _served_platforms(servers[2], ref) == set(platforms)


def test_limit_rate_holds_each_site_to_the_rate_on_its_own(registry_factory: Factory, pair: Packages,
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``--limit-rate`` with several sites is per site: each site's run has a bucket of its own at the
    rate, and every byte sent to that site is taken from it (not one bucket shared by the sites)."""
    buckets: list[Counted] = []

    class Counted(RateLimit):
        def __init__(self, rate: int, **kwargs: object) -> None:
            super().__init__(rate, **kwargs)  # type: ignore[arg-type]
            self.taken = 0
            buckets.append(self)

        def take(self, size: int) -> float:
            self.taken += size
            return super().take(size)

    monkeypatch.setattr(engine, "RateLimit", Counted)
    rate = 1 << 30  # high enough that the buckets never wait: what is counted is where bytes go
    servers = [registry_factory() for _ in range(2)]
    sessions = _sessions([s.url for s in servers], tmp_path / "state")
    try:
        packages = sessions[0].scan([pair.amd])
        outcomes = run_sites(sessions, preflight_sites(sessions, packages), options=RunOptions(rate_limit=rate))
    finally:
        for session in sessions:
            session.close()
    assert [o.status for o in outcomes] == [RunStatus.DONE] * 2, [o.message for o in outcomes]
    sent = [o.summary.bytes_uploaded for o in outcomes if o.summary is not None]
    assert len(buckets) == 2 and all(b.rate == rate for b in buckets)
    assert sorted(b.taken for b in buckets) == sorted(sent) and min(sent) > 0
