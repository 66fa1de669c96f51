"""Nothing destructive without consent; clear when unattended.

Rollback off a terminal needs ``--yes``; ``--username`` without a password asks at a terminal (not
echoed) and says so without one; chart versions kept because their content differs are said at
the end of the run, and verify's advice matches.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

from tests.cli_driver import archfuse, registry_args
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

