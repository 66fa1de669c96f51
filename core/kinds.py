"""The engine's vocabulary: every action, status and kind, as string enums in one place.

Members are ``str`` subclasses whose value is the word the JSON output and the journal use, so
``ImageAction.NEW == "new"`` and ``json.dumps`` writes ``"new"``. Runs on Python 3.9 (no
``enum.StrEnum`` there).
"""

from __future__ import annotations

from enum import Enum


class Word(str, Enum):  # Python 3.9 has no StrEnum
    """A string enum: compares, hashes, formats and serialises as its value."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class ImageAction(Word):
    """What a run does to one image (one platform of one tag)."""

    NEW = "new"
    ADD_ARCH = "add-arch"
    UPDATE_ARCH = "update-arch"
    #: the tag already names this manifest, but the registry lost it (a dangling index entry): the
    #: run stores the manifest again from the package; the tag is left as it is
    REPAIR = "repair"
    UNCHANGED = "unchanged"
    ERROR = "error"
    ROLLED_BACK = "rolled-back"  # a rollback put the tag back where the run found it
    PRUNED = "pruned"  # a prune deleted the manifest (its bytes kept in the state dir for rollback)


class ImageStage(Word):
    """Where one image (one platform of one tag) is in a run, as the run screen shows it."""

    WAITING = "waiting"  # the run has not reached it yet (the run screen, before its first progress)
    QUEUED = "queued"  # its blobs wait for the package reader
    UPLOADING = "uploading"  # a blob of it is on its way
    MANIFESTS = "manifests"  # its blobs are there; its manifest is next
    FUSING = "fusing"  # its tag is being merged and written
    DONE = "done"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the run was cancelled before it got there

    @property
    def active(self) -> bool:
        """True while work for the image is under way (the run screen keeps these rows in view)."""
        return self in (ImageStage.UPLOADING, ImageStage.MANIFESTS, ImageStage.FUSING)


class BlobHow(Word):
    """How a blob got to the target in a run."""

    UPLOADED = "uploaded"
    MOUNTED = "mounted"  # from another repository of the same registry, no bytes sent


class ChartAction(Word):
    """What a run does to one chart version."""

    NEW = "new"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"  # other content there: kept, not overwritten
    OVERWRITTEN = "overwritten"  # other content there, replaced (``--force-charts``)
    DELETED = "deleted"  # a prune deleted the version from a chart repository
    ERROR = "error"


class CheckStatus(Word):
    """The outcome of one preflight check."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class CheckKind(Word):
    """The kind of a preflight check; ``--ignore-check`` names a kind (spaces as dashes)."""

    PACKAGE = "package"
    VERSION = "version"
    JOURNAL = "journal"
    SPOOL_DISK = "spool disk"
    TARGET_DISK = "target disk"
    VENDOR_LEFTOVERS = "vendor leftovers"
    TARGET = "target"
    HARBOR = "harbor"
    REGISTRY_SPACES = "registry spaces"
    PUSH_RIGHTS = "push rights"
    #: a Harbor project's own rules against what the plan writes (core.checks.rules)
    REGISTRY_RULES = "registry rules"
    QUOTA = "quota"
    IMMUTABLE_TAGS = "immutable tags"
    RETENTION = "retention"
    PROXY_CACHE = "proxy cache"
    FUSION = "fusion"
    ARCH_COVERAGE = "arch coverage"
    CHARTS = "charts"
    CHART_DESTINATION = "chart destination"

    @property
    def flag(self) -> str:
        """How ``--ignore-check`` spells the kind."""
        return self.value.replace(" ", "-")

    @property
    def ignorable(self) -> bool:
        """Whether a failure of this kind may be gone past: without a target, its spaces and fusion
        there is no plan to run."""
        return self not in (CheckKind.TARGET, CheckKind.HARBOR, CheckKind.REGISTRY_SPACES, CheckKind.FUSION)


class RunKind(Word):
    """What a run in the journal did."""

    IMPORT = "import"
    ROLLBACK = "rollback"
    PRUNE = "prune"
    REPAIR = "repair"  # verify --repair: put back what a target lost of what the journal imported


class RunStatus(Word):
    """How a run in the journal ended (or that it is still going, or was killed)."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


class RollbackResult(Word):
    """What rollback did to one tag a run changed."""

    RESTORED = "restored"
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    LEFT = "left"
    REFUSED = "refused"
    FAILED = "failed"


class VerifyStatus(Word):
    """What verify found for one image platform or chart version."""

    OK = "ok"
    MISSING = "missing"  # a chart version
    OTHER_CONTENT = "other-content"  # a chart version
    MISSING_TAG = "missing-tag"
    MISSING_PLATFORM = "missing-platform"
    MISSING_BLOB = "missing-blob"
    OTHER_DIGEST = "other-digest"
    MISSING_CHILD = "missing-child"  # the tag's index names the platform's manifest, which the registry lacks
    ERROR = "error"


class Fault(Word):
    """What a site lost of a tag the journal imported (verify across sites, and its repair)."""

    MISSING_TAG = "missing-tag"  # the tag is gone
    LOST_PLATFORM = "lost-platform"  # flattened: the index lost a platform, or is a single manifest now
    MISSING_CHILD = "missing-child"  # the index names a platform manifest the registry no longer holds
    MISSING_BLOB = "missing-blob"  # a blob of a platform manifest is gone
    STALE = "stale"  # the tag serves a platform by another manifest than the package's (an older one)
    OTHER_INDEX = "other-index"  # the index's digest is not the hub's
    MISSING_CHART = "missing-chart"
    OTHER_CHART = "other-chart"
    UNREACHABLE = "unreachable"  # the site did not answer


class ChecksumStatus(Word):
    """A package's sha512 sidecar: matched, absent, or different."""

    OK = "ok"
    MISSING = "missing"
    MISMATCH = "mismatch"


class RegistryFlavour(Word):
    """What answers at a registry URL: Harbor (projects are registry spaces) or a plain registry."""

    HARBOR = "harbor"
    DISTRIBUTION = "distribution"


class ChartDestinationKind(Word):
    """Where charts go: OCI artifacts, a ChartMuseum API, or Harbor's (≤ 2.7) chartrepo API."""

    OCI = "oci"
    CHARTMUSEUM = "chartmuseum"
    HARBOR = "harbor"


class Change(Word):
    """What ``diff`` says of a chart or image between OLD and NEW."""

    ADDED = "added"  # a chart NEW has and OLD lacks
    NEW = "new"  # an image reference on a platform NEW has and OLD lacks
    CHANGED = "changed"
    REMOVED = "removed"
