"""The run-lock directory on a shared node: nothing in it is trusted, and every user's runs still share it.

archfuse runs as root on nodes other users log in to: a lock file planted as a link must not make
it chmod or overwrite another file, a lock directory another user controls is refused, and a lock
file one user's run creates stays usable by another user's run (the identity lock is host-wide).
These tests run as root and play the other user with ``chown`` and a child process running as
``nobody``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.demo.samples import write_sample_package
from core.errors import RunLocked, StateError
from core.record.runlock import hold, target_key
from tests.cli_driver import archfuse

ROOT = Path(__file__).resolve().parents[1]
TARGET = "oci:/srv/layout"
OTHER_UID = 65534  # nobody

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="plays another user with chown and setuid: needs root")


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A world-reachable parent holding ``archfuse-locks`` (not created yet), as ``ARCHFUSE_LOCK_DIR``."""
    parent = Path(tempfile.mkdtemp(prefix="archfuse-shared-"))
    os.chmod(parent, 0o755)
    locks = parent / "archfuse-locks"
    monkeypatch.setenv("ARCHFUSE_LOCK_DIR", str(locks))
    try:
        yield locks
    finally:
        subprocess.run(["rm", "-rf", str(parent)], check=False)


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "shadow"
    victim.write_text("root:secret-hash:19000::::::\n")
    os.chmod(victim, 0o600)
    return victim


def _untouched(victim: Path) -> None:
    assert victim.read_text() == "root:secret-hash:19000::::::\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600


@pytest.mark.parametrize("suffix", ["lock", "guard"])
def test_a_planted_symlink_lock_file_is_not_followed(shared: Path, tmp_path: Path, suffix: str) -> None:
    shared.mkdir()
    os.chmod(shared, 0o1777)
    victim = _victim(tmp_path)
    (shared / f"{target_key(TARGET)}.{suffix}").symlink_to(victim)
    with pytest.raises(StateError) as err, hold(TARGET):
        pass
    assert "symbolic link" in str(err.value) and "ARCHFUSE_LOCK_DIR" in str(err.value)
    _untouched(victim)


def test_a_planted_hard_link_lock_file_is_not_written(shared: Path, tmp_path: Path) -> None:
    shared.mkdir()
    os.chmod(shared, 0o1777)
    victim = shared.parent / "shadow"  # a hard link needs one file system
    victim.write_text("root:secret-hash:19000::::::\n")
    os.chmod(victim, 0o600)
    os.link(victim, shared / f"{target_key(TARGET)}.lock")
    with pytest.raises(StateError, match="hard link"), hold(TARGET):
        pass
    _untouched(victim)


def test_an_existing_lock_file_keeps_its_permissions(shared: Path) -> None:
    shared.mkdir()
    os.chmod(shared, 0o1777)
    found = shared / f"{target_key(TARGET)}.lock"
    found.write_text("")
    os.chmod(found, 0o600)  # made by someone else: archfuse never widens it
    with hold(TARGET):
        pass
    assert stat.S_IMODE(found.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("setup", "said"),
    [
        ("other-owner", "owned by another user"),
        ("world-writable", "writable by other users without the sticky bit"),
        ("symlink", "a symbolic link"),
    ],
)
def test_an_unsafe_lock_directory_is_refused(shared: Path, setup: str, said: str) -> None:
    if setup == "symlink":
        real = shared.parent / "elsewhere"
        real.mkdir(mode=0o700)
        shared.symlink_to(real)
    else:
        shared.mkdir()
        os.chmod(shared, 0o1777 if setup == "other-owner" else 0o777)
        if setup == "other-owner":
            os.chown(shared, OTHER_UID, OTHER_UID)
    with pytest.raises(StateError) as err, hold(TARGET):
        pass
    message = str(err.value)
    assert said in message and str(shared) in message and "ARCHFUSE_LOCK_DIR" in message
    assert not any(p.name.endswith(".lock") for p in shared.parent.rglob("*"))


def test_a_missing_lock_directory_is_made_sticky_and_shared(shared: Path) -> None:
    with hold(TARGET):
        mode = shared.stat().st_mode
        assert stat.S_IMODE(mode) == 0o1777
        lock = shared / f"{target_key(TARGET)}.lock"
        assert stat.S_IMODE(lock.stat().st_mode) == 0o666  # created here: every user may lock it


_OTHER_USER = """
import sys
from core.errors import RunLocked
from core.record.runlock import hold
try:
    with hold({target!r}):
        print("held", flush=True)
        sys.stdin.readline()
except RunLocked as err:
    print("refused:", err, flush=True)
"""


def _become_other_user() -> None:
    os.setgroups([])
    os.setgid(OTHER_UID)
    os.setuid(OTHER_UID)


def _python_for_other_user() -> str:
    """A Python the other user may run (this venv's may live under root's 0700 home)."""
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        try:
            done = subprocess.run([candidate, "-c", "pass"], preexec_fn=_become_other_user, check=False)
        except OSError:
            continue
        if done.returncode == 0:
            return candidate
    pytest.skip("no Python the other user may run")


def _as_other_user() -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": "/"}
    return subprocess.Popen(
        [_python_for_other_user(), "-c", _OTHER_USER.format(target=TARGET)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd="/",
        preexec_fn=_become_other_user,
    )


def test_the_identity_lock_excludes_another_users_run(shared: Path) -> None:
    # root's run creates the directory and the lock file; the other user's run can open it, and is refused
    with hold(TARGET):
        proc = _as_other_user()
        out, _ = proc.communicate("\n", timeout=60)
        assert out.startswith("refused:") and "Another archfuse run" in out
    # the other user's run holds it (in root's directory, in root's lock file): root's run is refused
    proc = _as_other_user()
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked, match="Another archfuse run"), hold(TARGET):
            pass
    finally:
        proc.communicate("\n", timeout=60)
    with hold(TARGET):  # free again
        pass


def test_the_cli_exits_2_with_one_sentence_for_a_refused_lock_directory(shared: Path, tmp_path: Path) -> None:
    """A lock directory others can write is a bad configuration: exit 2 (DESIGN.md), and one sentence
    naming the directory and ARCHFUSE_LOCK_DIR, no traceback."""
    shared.mkdir()
    os.chmod(shared, 0o777)
    package = write_sample_package(tmp_path / "pk", "v0.12.0", "amd64")
    done = archfuse("import", package, "--registry", tmp_path / "layout", "--yes", state_dir=tmp_path / "state",
                    env={"ARCHFUSE_LOCK_DIR": str(shared)})
    assert done.code == 2, done.err
    said = [line for line in done.err.splitlines() if "run lock" in line]
    assert said == [f"archfuse: The run lock directory {shared} is writable by other users without the sticky bit, "
                    "so another user could tamper with its lock files; remove it, or set ARCHFUSE_LOCK_DIR to a "
                    "directory owned by you or root that others cannot write (or that has the sticky bit, like /tmp)."]
    assert "Traceback" not in done.err
