"""Nothing destructive without consent; clear when unattended.

Rollback off a terminal needs ``--yes``; ``--username`` without a password asks at a terminal (not
echoed) and says so without one; chart versions kept because their content differs are said at
the end of the run, and verify's advice matches.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.checks.leftovers import LEFTOVER_NAME
from tests.cli_driver import QUESTION, CliResult, archfuse, at_terminal, registry_args
from tests.fixtures.harbor import HarborTestServer
from tests.fixtures.registry import RegistryServer
from tests.test_import_registry import pkg

ROOT = Path(__file__).resolve().parents[1]


def test_rollback_off_a_terminal_refuses_without_yes(demo_packages: list[Path], tmp_path: Path) -> None:
    state, layout = tmp_path / "state", tmp_path / "layout"
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    imported = archfuse("import", amd, "--registry", layout, "--yes", "--json", state_dir=state)
    assert imported.code == 0, imported.err
    run_id = imported.last("run_finished")["run_id"]
    index = (layout / "index.json").read_bytes()
    refused = archfuse("rollback", run_id, "--json", state_dir=state)
    assert refused.code == 2 and "--yes" in refused.err
    assert len([line for line in refused.err.splitlines() if line.startswith("archfuse:")]) == 1
    assert (layout / "index.json").read_bytes() == index  # nothing moved
    assert archfuse("rollback", run_id, "--yes", "--json", state_dir=state).code == 0
    assert (layout / "index.json").read_bytes() != index


def test_username_without_password_off_a_terminal_says_so(
    tls_registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    result = archfuse("plan", amd, *registry_args(tls_registry), state_dir=tmp_path / "state")
    assert result.code == 2
    assert f"--username {tls_registry.username} was given without a password" in result.err
    assert "refused" not in result.err


def test_username_without_password_at_a_terminal_asks_without_echo(
    tls_registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    assert tls_registry.password is not None
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    env = {**os.environ, "ARCHFUSE_STATE_DIR": str(tmp_path / "state")}
    env.pop("ARCHFUSE_PASSWORD", None)
    controller, terminal = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "plan", str(amd), *registry_args(tls_registry), "--json"],
        stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
        start_new_session=True,  # no controlling terminal: getpass reads the pty on stdin
    )
    os.close(terminal)
    assert proc.stderr is not None
    prompt = b""
    try:
        while b": " not in prompt:  # the prompt first: getpass flushes what was typed before it
            chunk = os.read(proc.stderr.fileno(), 4096)
            assert chunk, prompt
            prompt += chunk
        os.write(controller, (tls_registry.password + "\n").encode())
        out_bytes, err_bytes = proc.communicate(timeout=120)
        echoed = b""
        while select.select([controller], [], [], 0)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            echoed += chunk
    finally:
        os.close(controller)
    out, err = out_bytes.decode(), (prompt + err_bytes).decode()
    assert proc.returncode == 0, err + out
    assert f"Password for {tls_registry.username}" in err
    assert tls_registry.password not in out + err and tls_registry.password.encode() not in echoed



# -- consent before acting: nothing changes without a yes -------------------------------------

#: the ways an engineer does not agree: no terminal and no --yes, a terminal answering n, a terminal closing
REFUSALS = ("no-terminal", "answer-n", "terminal-closes")


def refused(way: str, *args: str | Path, state_dir: Path, password: str | None = None) -> CliResult:
    """Run ``archfuse ARGS`` (without --yes) and refuse it ``way``; it says so without a traceback."""
    if way == "no-terminal":
        result = archfuse(*args, state_dir=state_dir, password=password)
        assert result.code == 2 and "--yes" in result.err, result.err + result.out
    else:
        result = at_terminal(*args, answer=b"n\n" if way == "answer-n" else None, state_dir=state_dir,
                             password=password)
        assert result.code == 0 and QUESTION.decode() in result.out, result.err + result.out
    assert "Traceback" not in result.err and "EOFError" not in result.err, result.err
    return result


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes: what a registry's storage holds (blobs, manifests, tags).

    Distribution keeps a little state (``_uploads``) of the uploads the push-rights check opens and
    cancels: that is no content, and the registry purges it.
    """
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_uploads" not in p.parts
    }


@pytest.mark.parametrize("way", REFUSALS)
def test_import_refused_moves_no_tag_pushes_no_chart_and_keeps_the_leftovers(
    way: str, registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    """Tags and charts (OCI, into the real registry) and the vendor's work directory (--clean-leftovers)."""
    packages = tmp_path / "packages"
    packages.mkdir()
    amd = shutil.copy(pkg(demo_packages, "v0.11.0", "amd64"), packages)
    leftover = packages / LEFTOVER_NAME / "images"
    leftover.mkdir(parents=True)
    (leftover / "images.tar").write_bytes(b"x" * 4096)
    before = files(registry.storage)
    result = refused(way, "import", amd, *registry_args(registry), "--clean-leftovers", state_dir=tmp_path / "state")
    if way != "no-terminal":
        assert f"First remove {packages / LEFTOVER_NAME}, then import?" in result.out
    assert files(registry.storage) == before  # no blob, no manifest, no tag, no chart
    assert (leftover / "images.tar").read_bytes() == b"x" * 4096


@pytest.mark.parametrize("way", REFUSALS)
def test_harbor_test_server_import_refused_creates_no_project(
    way: str, harbor_registry: HarborTestServer, registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    projects, before = set(harbor_registry.projects), files(registry.storage)
    result = refused(way, "import", amd, "--registry", harbor_registry.url, "--insecure", "--username", "admin",
                     "--create-spaces", state_dir=tmp_path / "state", password="Harbor12345")
    if way != "no-terminal":
        assert "First create the Harbor project(s) addon, bitnami, community, ingress-nginx, jetstack, metrics-server, then" in result.out
    assert not harbor_registry.calls("POST", "/api/v2.0/projects")
    assert set(harbor_registry.projects) == projects and files(registry.storage) == before
    assert not harbor_registry.invalid


@pytest.mark.parametrize("way", REFUSALS)
def test_rollback_refused_moves_no_tag(
    way: str, registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    imported = archfuse("import", pkg(demo_packages, "v0.11.0", "amd64"), *registry_args(registry), "--yes", "--json",
                        state_dir=state)
    assert imported.code == 0, imported.err
    before = files(registry.storage)
    refused(way, "rollback", imported.last("run_finished")["run_id"], *registry_args(registry), state_dir=state)
    assert files(registry.storage) == before


def test_clean_leftovers_with_yes_removes_them_and_imports(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    packages = tmp_path / "packages"
    packages.mkdir()
    amd = shutil.copy(pkg(demo_packages, "v0.11.0", "amd64"), packages)
    (packages / LEFTOVER_NAME).mkdir()
    (packages / LEFTOVER_NAME / "images.tar").write_bytes(b"x" * 4096)
    result = archfuse("import", amd, *registry_args(registry), "--clean-leftovers", "--yes", "--json",
                      state_dir=tmp_path / "state")
    assert result.code == 0, result.err
    assert not (packages / LEFTOVER_NAME).exists()
    removed = [e for e in result.of("check_done") if e["name"] == "vendor leftovers" and e["detail"].startswith("Removed")]
    assert removed and "freeing 4.0 KiB" in removed[0]["detail"], result.out
