"""One run per target at a time: an ``fcntl`` lock file in a host-wide directory, keyed by the target.

The key is the target's identity, not its spelling: a registry is its host and port (scheme
dropped, default port filled in, ``localhost``/``127.0.0.1``/``::1`` one loopback host), a layout
its real path (``./dir``, ``dir`` and ``oci:/abs/dir`` are one target). The lock directory is
shared by every state dir on the host: ``$ARCHFUSE_LOCK_DIR`` when set, else
``<tmp>/archfuse-locks`` (sticky, world-writable, like ``/tmp`` itself).

archfuse often runs as root on a node other users can log in to, so nothing in that directory
is trusted: a lock directory that is a symbolic link, belongs to another user (not root), or
that others may write without the sticky bit is refused; lock files are opened relative to the
directory's descriptor without following links, a lock file that is a link or no plain file is
refused, and only a file this process has just created is made writable for every user (so
other users' runs can lock it too). An existing lock file is never chmod'ed.

``<lock dir>/<hash>.lock`` holds an exclusive ``flock`` for as long as a run uses the
target, and says who holds it (pid, host, start time, run id) so a second run can name the
first. The kernel drops a ``flock`` when its process dies, so a killed run never blocks the
next one. A lock still held although the process named in it is dead or has let go (a
forked child kept the descriptor) is taken over: the file is replaced, under a short guard lock so two
processes never both take it over.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import ipaddress
import json
import os
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import RunLocked, StateError, UnsafeLockDirectory

LOCK_DIR_ENV = "ARCHFUSE_LOCK_DIR"
DEFAULT_PORTS = {"http": 80, "https": 443, "oci": 443}
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


@dataclass
class LockOwner:
    """Who holds a target's lock."""

    pid: int
    host: str
    started: float
    target: str
    token: str | None = None  # the process's start time (from /proc), against pid reuse
    run_id: str | None = None
    released: bool = False  # the owner let go (a forked child may still hold the descriptor)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        run = f"run {self.run_id}, " if self.run_id else ""
        host = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"{run}pid {self.pid}{host}, started {when}"


def lock_dir() -> Path:
    """The host-wide directory of run locks: ``$ARCHFUSE_LOCK_DIR``, else ``<tmp>/archfuse-locks``."""
    override = os.environ.get(LOCK_DIR_ENV)
    return Path(override).expanduser() if override else Path(tempfile.gettempdir()) / "archfuse-locks"


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def target_identity(target: str) -> str:
    """What a target is, whatever its spelling: ``registry:HOST:PORT`` or ``oci:REAL_PATH``.

    Registry hosts are lower-cased, loopback names and addresses are one host (``loopback``),
    the scheme's default port is filled in; a layout path is resolved (``~``, ``..``, symlinks).
    """
    text = target.strip().rstrip("/") or target
    if "://" in text:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
        except ValueError:
            return f"registry:{parts.netloc.lower()}"
        return f"registry:{'loopback' if _is_loopback(host) else host}:{port}"
    path = text[4:] if text.startswith("oci:") else text
    return "oci:" + os.path.realpath(os.path.expanduser(path))


def target_key(target: str) -> str:
    """A file-name-safe key for a target's identity (see :func:`target_identity`)."""
    return hashlib.sha256(target_identity(target).encode()).hexdigest()[:24]


def process_token(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux ``/proc``), or None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, token: str | None = None, host: str | None = None) -> bool:
    """True when ``pid`` still runs (and is the same process, when ``token`` is known).

    A process on another host cannot be checked: it counts as alive.
    """
    if host is not None and host != socket.gethostname():
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields and fields[0] in ("Z", "X"):  # zombie or dead: exited, not yet reaped
        return False
    return token is None or (len(fields) > 19 and fields[19] == token)


@dataclass
class _Held:
    fd: int
    dir_fd: int
    path: Path
    owner: LockOwner
    thread: int
    depth: int = 1


_held: dict[Path, _Held] = {}
_held_mutex = threading.Lock()

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC


def _read_owner(fd: int) -> LockOwner | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 1 << 16)
        return LockOwner(**json.loads(data)) if data else None
    except (OSError, ValueError, TypeError):
        return None


def _write_owner(fd: int, owner: LockOwner) -> None:
    data = json.dumps(asdict(owner)).encode()
    os.ftruncate(fd, 0)  # fd is a plain file checked by _open_shared, never a link
    os.pwrite(fd, data, 0)


@contextlib.contextmanager
def _guard(dir_fd: int, directory: Path, key: str) -> Iterator[None]:
    fd = _open_shared(dir_fd, directory, f"{key}.guard")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _acquire(dir_fd: int, directory: Path, target: str) -> _Held:
    key = target_key(target)
    name = f"{key}.lock"
    path = directory / name
    with _guard(dir_fd, directory, key):
        for _attempt in range(2):
            fd = _open_shared(dir_fd, directory, name)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                if owner is not None and (
                    owner.released or not process_alive(owner.pid, owner.token, owner.host)
                ):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=dir_fd)  # stale: its process is gone, a leftover descriptor holds it
                    continue
                who = owner.describe() if owner else "a process that did not say who it is"
                raise RunLocked(
                    f"Another archfuse run is using {target} ({who}).",
                    hint="Wait for it to finish, or stop that process, then run again.",
                ) from None
            except BaseException:
                os.close(fd)
                raise
            pid = os.getpid()
            owner = LockOwner(pid, socket.gethostname(), time.time(), target, process_token(pid))
            _write_owner(fd, owner)
            return _Held(fd, dir_fd, path, owner, threading.get_ident())
    raise RunLocked(
        f"Could not take over the stale lock of {target} ({path}); remove that file and run again."
    )


def _open_shared(dir_fd: int, directory: Path, name: str) -> int:
    """Open a lock file every user of the host may lock, never through a link.

    A file this call creates is made read-write for everyone (the umask must not lock other
    users out); a file found is used as it is, only if it is a plain file with one name.
    """
    path = directory / name
    for _attempt in range(3):
        try:
            fd = os.open(name, _FILE_FLAGS | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=dir_fd)
        except FileExistsError:
            try:
                fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
            except FileNotFoundError:
                continue  # removed meanwhile (a stale lock taken over): create it
            except OSError as err:
                raise _unusable_file(path, err) from None
        except OSError as err:
            raise _unusable_file(path, err) from None
        else:
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o666)  # our own new file: every archfuse user of the host may lock it
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise StateError(
                f"The run lock {path} is not a plain file archfuse made (a special file or a hard link), "
                f"so archfuse does not write to it; remove it, or set {LOCK_DIR_ENV} to a directory only you "
                "or root can write."
            )
        return fd
    raise StateError(f"The run lock {path} keeps disappearing; check what removes files in {directory}.")


def _unusable_file(path: Path, err: OSError) -> StateError:
    if err.errno == errno.ELOOP:
        return StateError(
            f"The run lock {path} is a symbolic link, which archfuse never creates or follows; remove it "
            f"(another user may have planted it), or set {LOCK_DIR_ENV} to a directory only you or root can write."
        )
    return StateError(
        f"The run lock {path} cannot be opened ({err.strerror or err}).",
        hint=f"Make {path.parent} writable for this user, or set {LOCK_DIR_ENV} to a directory every archfuse "
        "user of this host can write.",
    )


def _unsafe_directory(directory: Path, what: str) -> UnsafeLockDirectory:
    return UnsafeLockDirectory(
        f"The run lock directory {directory} is {what}, so another user could tamper with its lock files; "
        f"remove it, or set {LOCK_DIR_ENV} to a directory owned by you or root that others cannot write "
        "(or that has the sticky bit, like /tmp)."
    )


def _open_directory(directory: Path) -> int:
    """Open the lock directory (creating it, sticky and world-writable, when missing) and check it is safe."""
    created = False
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except FileNotFoundError:
        try:
            directory.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(directory, 0o700)
            created = True
        except FileExistsError:
            pass  # another process made it first: checked like any directory found
        except OSError as err:
            raise StateError(
                f"The run lock directory {directory} cannot be created ({err.strerror or err}).",
                hint=f"Set {LOCK_DIR_ENV} to a directory every archfuse user of this host can write.",
            ) from None
        fd = _open_directory_found(directory)
    except OSError as err:
        raise _directory_error(directory, err) from None
    try:
        info = os.fstat(fd)
        if info.st_uid not in (os.geteuid(), 0):
            raise _unsafe_directory(directory, f"owned by another user (uid {info.st_uid})")
        if created and info.st_uid == os.geteuid():
            os.fchmod(fd, 0o1777)  # every user's runs share it; the sticky bit keeps files their own
        elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
            raise _unsafe_directory(directory, "writable by other users without the sticky bit")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_directory_found(directory: Path) -> int:
    try:
        return os.open(directory, _DIR_FLAGS)
    except OSError as err:
        raise _directory_error(directory, err) from None


def _directory_error(directory: Path, err: OSError) -> StateError:
    if err.errno in (errno.ELOOP, errno.ENOTDIR):
        return _unsafe_directory(directory, "a symbolic link" if directory.is_symlink() else "not a directory")
    return StateError(
        f"The run lock directory {directory} cannot be opened ({err.strerror or err}).",
        hint=f"Set {LOCK_DIR_ENV} to a directory every archfuse user of this host can write.",
    )


@contextlib.contextmanager
def hold(target: str) -> Iterator[LockOwner]:
    """Hold ``target``'s run lock; raise :class:`RunLocked` naming the holder if another run has it.

    The lock is the target's identity (any spelling of one registry or layout) in the host-wide
    lock directory. Re-entrant within one thread; another thread of the same process is refused
    like a process.
    """
    directory = lock_dir()
    path = directory / f"{target_key(target)}.lock"
    with _held_mutex:
        held = _held.get(path)
        if held is not None:
            if held.thread != threading.get_ident():
                raise RunLocked(
                    f"Another archfuse run is using {target} ({held.owner.describe()}).",
                    hint="Wait for it to finish, then run again.",
                )
            held.depth += 1
        else:
            dir_fd = _open_directory(directory)
            try:
                held = _acquire(dir_fd, directory, target)
            except BaseException:
                os.close(dir_fd)
                raise
            _held[path] = held
    try:
        yield held.owner
    finally:
        with _held_mutex:
            held.depth -= 1
            if held.depth == 0:
                del _held[path]
                held.owner.released = True
                with contextlib.suppress(OSError, StateError), _guard(held.dir_fd, path.parent, target_key(target)):
                    _write_owner(held.fd, held.owner)
                os.close(held.fd)  # closing drops the flock (unless a forked child shares it)
                os.close(held.dir_fd)


def lock_path(target: str) -> Path:
    """The lock file of ``target`` in the host-wide lock directory."""
    return lock_dir() / f"{target_key(target)}.lock"


def note_run(target: str, run_id: str) -> None:
    """Write ``run_id`` into the lock file of ``target`` if this thread holds it."""
    path = lock_path(target)
    with _held_mutex:
        held = _held.get(path)
        if held is None or held.thread != threading.get_ident():
            return
        held.owner.run_id = run_id
        with contextlib.suppress(OSError, StateError), _guard(held.dir_fd, path.parent, target_key(target)):
            _write_owner(held.fd, held.owner)
