"""Drive the ``archfuse`` CLI the way an engineer (or another tool) does, in-process or as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fixtures.registry import RegistryServer


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.startswith("{")]

    def last(self, kind: str) -> dict[str, Any]:
        return [e for e in self.events if e.get("event") == kind][-1]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]


def registry_args(server: RegistryServer) -> list[str]:
    """Target flags for a test registry (credentials go by environment, like an engineer's shell)."""
    args = ["--registry", server.url]
    if server.insecure:
        args.append("--insecure")
    if server.ca_path is not None:
        args += ["--ca-cert", str(server.ca_path)]
    if server.username:
        args += ["--username", server.username]
    return args


def archfuse(
    *args: str | Path, state_dir: Path, password: str | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> CliResult:
    """Run ``archfuse ARGS`` as a process with its own state dir; ``password`` goes to the environment."""
    environ = _environment(state_dir, password, env)
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def _environment(state_dir: Path, password: str | None, env: dict[str, str] | None) -> dict[str, str]:
    environ = {**os.environ, "ARCHFUSE_STATE_DIR": str(state_dir), **(env or {})}
    environ.pop("ARCHFUSE_PASSWORD", None)
    if password is not None:
        environ["ARCHFUSE_PASSWORD"] = password
    return environ


#: how archfuse asks at a terminal
QUESTION = b"[y/N] "


def at_terminal(
    *args: str | Path, answer: bytes | None, state_dir: Path, password: str | None = None, timeout: float = 300
) -> CliResult:
    """Run ``archfuse ARGS`` with a terminal (a pty) on standard input, as an engineer at a shell.

    At its question (``[y/N]``) ``answer`` is typed, or with None the terminal closes (end of input).
    """
    controller, terminal = os.openpty()
    with tempfile.TemporaryFile() as err:  # a file: a long stderr never blocks the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *map(str, args)],
            stdin=terminal, stdout=subprocess.PIPE, stderr=err, env=_environment(state_dir, password, None),
            cwd=Path(__file__).resolve().parents[1], start_new_session=True,
        )
        os.close(terminal)
        assert proc.stdout is not None
        out = b""
        try:
            while QUESTION not in out:  # the question first, then the answer
                chunk = os.read(proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    break  # it ended without asking
                out += chunk
            if QUESTION in out and answer is not None:
                os.write(controller, answer)
            elif QUESTION in out:
                os.close(controller)  # the terminal goes away
                controller = -1
            rest, _ = proc.communicate(timeout=timeout)
        finally:
            if controller >= 0:
                os.close(controller)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        return CliResult(proc.returncode, (out + rest).decode(), err.read().decode())
