"""The exception tree of the engine.

Every error carries one sentence a person can act on (``str(err)``) and an exit code for
the CLI. Nothing in ``core`` prints; the edges (CLI, TUI) render these.

    ArchfuseError                 exit 1 unless a subclass says otherwise
    ├── UsageError                exit 2: bad flags, bad configuration
    ├── PackageError              exit 2: unreadable, corrupt or hostile package content
    │   └── ChecksumMismatch
    ├── ChartError                exit 2: a chart that cannot be relocated or packaged
    ├── TargetError               exit 1: the destination refused or failed
    │   ├── RegistryError
    │   │   ├── TransportError    connection refused/reset, timeouts (retried first)
    │   │   ├── TLSError          certificate problems
    │   │   ├── AuthError         credentials refused (401/403)
    │   │   ├── SpaceMissing      a Harbor project (registry space) does not exist
    │   │   ├── NotFound
    │   │   ├── BlobUnknown       a manifest names a blob the registry lacks (garbage collected)
    │   │   └── DigestMismatch
    │   └── LayoutError           OCI layout directory problems
    ├── SpoolFull                 exit 1: the spool directory ran out of space
    ├── PreflightFailed           exit 3: a check failed, nothing written
    ├── Cancelled                 exit 4: stopped safely on request (Escape, Ctrl+Q, a signal), resumable
    ├── RunLocked                 exit 1: another run holds the target
    └── StateError                exit 1: the state dir (journal, scan cache, locks) cannot be used
"""

from __future__ import annotations

from core.advice import Advice, template_of


class ArchfuseError(Exception):
    """Base of every error archfuse raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        """The message and the hint; Advice when either is, so a face can still word the fix its way."""
        if not self.hint:
            return self.message
        if isinstance(self.message, Advice) or isinstance(self.hint, Advice):
            return Advice(f"{template_of(self.message)} {template_of(self.hint)}")
        return f"{self.message} {self.hint}"


class UsageError(ArchfuseError):
    exit_code = 2


class PackageError(ArchfuseError):
    """A package file that cannot be read as it should."""

    exit_code = 2


class ChecksumMismatch(PackageError):
    pass


class ChartError(ArchfuseError):
    exit_code = 2


class TargetError(ArchfuseError):
    pass


class UnusableManifest(TargetError, ValueError):
    """A manifest (or config) whose bytes are no usable JSON document: too deep, not JSON, not UTF-8."""


class RegistryError(TargetError):
    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class TransportError(RegistryError):
    pass


class TLSError(RegistryError):
    pass


class AuthError(RegistryError):
    pass


class SpaceMissing(RegistryError):
    def __init__(self, message: str, *, space: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, status=401)
        self.space = space


class NotFound(RegistryError):
    pass


class BlobUnknown(RegistryError):
    """A manifest push refused because the registry lacks a blob it names (``MANIFEST_BLOB_UNKNOWN``,
    ``BLOB_UNKNOWN``: e.g. garbage collection took it after the plan saw it); ``digests``: the blobs
    the registry named, empty when it named none."""

    def __init__(self, message: str, *, digests: tuple[str, ...] = (), hint: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, hint=hint, status=status)
        self.digests = digests


class DigestMismatch(RegistryError):
    pass


class LayoutError(TargetError):
    pass


class SpoolFull(ArchfuseError):
    pass


class PreflightFailed(ArchfuseError):
    exit_code = 3


#: the exit code of a deliberate safe stop (Escape, Ctrl+Q, SIGINT/SIGTERM/SIGHUP): not a failure
STOPPED_EXIT = 4


class Cancelled(ArchfuseError):
    """A run stopped safely on request, before any tag moved that was not whole; running it again continues."""

    exit_code = STOPPED_EXIT


class RunLocked(ArchfuseError):
    pass


class StateError(ArchfuseError):
    """The state dir, journal, scan cache or lock directory cannot be used; the target is untouched."""


class UnsafeLockDirectory(StateError):
    """The run lock directory is refused (another user's, writable by others, a link): a bad
    configuration of the host or of ``ARCHFUSE_LOCK_DIR``, so a usage error's exit code."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration file (a sites file, ...) that cannot be used; the text names the file and the key."""
