"""``archfuse plan`` (preflight + plan, writes nothing) against the real registry and the Harbor test server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli_driver import archfuse, registry_args
from tests.fixtures.harbor import HarborTestServer
from tests.fixtures.registry import RegistryServer
from tests.test_import_registry import import_, pkg


def plan(server: RegistryServer, state: Path, *paths: Path, extra: tuple[str, ...] = ()) -> Any:
    return archfuse("plan", *paths, *registry_args(server), "--json", *extra, state_dir=state,
                    password=server.password)


def actions(doc: dict[str, Any]) -> set[str]:
    return {image["action"] for image in doc["images"]}


def check(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in doc["checks"] if c["name"] == name)


def test_plan_amd64_over_nothing_is_all_new_and_writes_nothing(registry: RegistryServer,
                                                               demo_packages: list[Path], tmp_path: Path) -> None:
    state = tmp_path / "state"
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    result = plan(registry, state, amd)
    assert result.code == 0, result.err
    doc = result.events[-1]
    assert actions(doc) == {"new"}
    assert all(i["platform"] == "linux/amd64" and i["destination"].startswith(registry.host) for i in doc["images"])
    assert doc["bytes_to_upload"] > 0 and all(i["upload_bytes"] > 0 for i in doc["images"])
    assert {c["action"] for c in doc["charts"]} == {"new"}
    assert check(doc, "target")["status"] == "ok"
    # nothing was written: no blob, manifest or tag (the push check's upload was cancelled)
    repos = registry.storage / "docker/registry/v2/repositories"
    assert not list(repos.glob("**/_layers/*")) and not list(repos.glob("**/_manifests/*"))
    # (distribution keeps a cancelled upload's empty hash state until its upload purge; no data stays)
    assert not [f for f in repos.glob("**/*") if f.is_file() and "hashstates" not in f.parts]


def test_plan_arm64_over_amd64_then_upgrade_over_multiarch(registry: RegistryServer,
                                                          demo_packages: list[Path], tmp_path: Path) -> None:
    state = tmp_path / "state"
    amd, arm = pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64")
    import_(registry, state, amd)
    doc = plan(registry, state, arm).events[-1]
    assert actions(doc) == {"add-arch"}
    assert all(i["platforms_before"] == ["linux/amd64"] for i in doc["images"])
    assert all(i["platforms_after"] == ["linux/amd64", "linux/arm64"] for i in doc["images"])
    import_(registry, state, arm)
    again = plan(registry, state, amd, arm).events[-1]
    assert actions(again) == {"unchanged"} and again["bytes_to_upload"] == 0
    assert {c["action"] for c in again["charts"]} == {"unchanged"}
    upgrade = plan(registry, state, pkg(demo_packages, "v0.12.0", "amd64")).events[-1]
    by_dest = {i["destination"]: i for i in upgrade["images"]}
    # a tag only v0.12.0 has is new; every tag v0.11.0 had keeps arm64 in its plan
    assert any(i["action"] == "new" for i in upgrade["images"])
    for image in upgrade["images"]:
        if image["platforms_before"]:
            assert "linux/arm64" in image["platforms_after"], image
    assert set(by_dest)


def test_plan_fails_with_exit_3_on_wrong_credentials(tls_registry: RegistryServer, demo_packages: list[Path],
                                                     tmp_path: Path) -> None:
    result = archfuse("plan", pkg(demo_packages, "v0.11.0", "amd64"), *registry_args(tls_registry), "--json",
                      state_dir=tmp_path / "state", password="wrong-password")
    assert result.code == 3
    doc = result.events[-1]
    target = check(doc, "target")
    assert target["status"] == "fail" and tls_registry.host in target["detail"]
    assert "wrong-password" not in result.out + result.err


def test_plan_says_self_signed_tls_needs_ca_cert(tls_registry: RegistryServer, demo_packages: list[Path],
                                                 tmp_path: Path) -> None:
    args = [a for a in registry_args(tls_registry)]
    i = args.index("--ca-cert")
    del args[i : i + 2]
    result = archfuse("plan", pkg(demo_packages, "v0.11.0", "amd64"), *args, "--json",
                      state_dir=tmp_path / "state", password=tls_registry.password)
    assert result.code == 3
    assert "--ca-cert" in check(result.events[-1], "target")["detail"]


def test_plan_unreachable_registry_fails_preflight(demo_packages: list[Path], tmp_path: Path) -> None:
    from tests.fixtures.registry import free_port

    result = archfuse("plan", pkg(demo_packages, "v0.11.0", "amd64"), "--registry",
                      f"http://127.0.0.1:{free_port()}", "--insecure", "--retry-for", "2s", "--json",
                      state_dir=tmp_path / "state")  # the check's tries end in 2 s, not in 30 s
    assert result.code == 3
    assert check(result.events[-1], "target")["status"] == "fail"


def harbor_args(harbor: HarborTestServer) -> list[str]:
    return ["--registry", harbor.url, "--insecure", "--username", "admin"]


def test_harbor_test_server_missing_spaces_fail_then_create_spaces_imports(
    harbor_registry: HarborTestServer, registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    result = archfuse("plan", amd, *harbor_args(harbor_registry), "--json", state_dir=state, password="Harbor12345")
    assert result.code == 3
    spaces = [c for c in result.events[-1]["checks"] if c["name"].startswith("registry space")]
    assert any(c["status"] == "fail" and "--create-spaces" in c["detail"] for c in spaces), spaces
    assert not harbor_registry.invalid
    imported = archfuse("import", amd, *harbor_args(harbor_registry), "--create-spaces", "--yes", "--json",
                        state_dir=state, password="Harbor12345")
    assert imported.code == 0, imported.err + imported.out
    assert harbor_registry.calls("POST", "/api/v2.0/projects")
    assert {e["action"] for e in imported.of("image_done")} == {"new"}
    again = archfuse("plan", amd, *harbor_args(harbor_registry), "--json", state_dir=state, password="Harbor12345")
    assert again.code == 0 and actions(again.events[-1]) == {"unchanged"}
    assert not harbor_registry.invalid


def test_history_lists_runs_and_rollback_puts_tags_back(registry: RegistryServer, demo_packages: list[Path],
                                                        tmp_path: Path) -> None:
    from tests.fixtures.registry import skopeo_inspect_raw

    state = tmp_path / "state"
    amd, arm = pkg(demo_packages, "v0.11.0", "amd64"), pkg(demo_packages, "v0.11.0", "arm64")
    import_(registry, state, amd)
    path = "metrics-server/metrics-server:v0.6.2"
    before = skopeo_inspect_raw(f"{registry.host}/{path}", registry)
    second = import_(registry, state, arm)
    run_id = second.last("run_started")["run_id"]
    history = archfuse("history", "--json", state_dir=state)
    runs = history.events[0]["runs"]
    assert [r["id"] for r in runs][:1] == [run_id] and runs[0]["status"] == "done"
    assert len(runs) == 2
    back = archfuse("rollback", run_id, *registry_args(registry), "--yes", "--json", state_dir=state)
    assert back.code == 0, back.err + back.out
    assert skopeo_inspect_raw(f"{registry.host}/{path}", registry) == before


def test_plan_fails_when_the_account_may_not_push(token_registry: RegistryServer, demo_packages: list[Path],
                                                 tmp_path: Path) -> None:
    assert token_registry.issuer is not None
    token_registry.issuer.grant = lambda kind, name, actions: [a for a in actions if a == "pull"]
    result = plan(token_registry, tmp_path / "state", pkg(demo_packages, "v0.11.0", "amd64"))
    assert result.code == 3
    push = check(result.events[-1], "push rights")
    assert push["status"] == "fail" and token_registry.host in push["detail"]
    # nothing was stored by the check
    assert not list(token_registry.storage.glob("docker/registry/v2/repositories/**/_layers/*"))


def test_plan_says_push_rights_are_ok(registry: RegistryServer, demo_packages: list[Path], tmp_path: Path) -> None:
    result = plan(registry, tmp_path / "state", pkg(demo_packages, "v0.11.0", "amd64"))
    push = check(result.events[-1], "push rights")
    assert push["status"] == "ok" and "metrics-server" in push["detail"]
