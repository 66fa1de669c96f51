"""The chart destination protocol and the one rule every destination pushes by.

Every destination answers what it holds for a chart version (the ``sha256:`` digest of the
chart ``.tgz`` there, or another identity that cannot equal one) and pushes a version with
one of four outcomes: ``new``, ``unchanged`` (same digest already there), ``conflict``
(other content there: kept, not overwritten) or ``overwritten`` (other content, ``force``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from core.kinds import ChartAction
from core.registry.retry import RetryPolicy
from core.targets.base import Target


@runtime_checkable
class ChartDestination(Protocol):
    def describe(self) -> str:
        """A display name without secrets."""

    def ping(self) -> None:
        """Check the destination answers and takes the credentials; raise TargetError if not."""

    def location(self, name: str, version: str, *, repo: str = "") -> str:
        """Where a chart version lands, for reports."""

    def existing(self, name: str, version: str, *, repo: str = "") -> str | None:
        """The digest of the chart ``.tgz`` the destination holds for this version, or None."""

    def push(self, name: str, version: str, tgz: bytes, *, repo: str = "", force: bool = False) -> ChartAction:
        """Store the chart unless the same content is there; return the action taken."""

    def close(self) -> None:
        """Close the connections this destination owns (none it shares with the image target)."""


def decide(have: str | None, digest: str, force: bool) -> ChartAction:
    """The action for a push given what the destination holds (``have``) and the chart's digest."""
    if have is None:
        return ChartAction.NEW
    if have == digest:
        return ChartAction.UNCHANGED
    return ChartAction.OVERWRITTEN if force else ChartAction.CONFLICT


@dataclass(frozen=True)
class DestinationSpec:
    """What a chart destination is built from: an image target (OCI charts) or an API URL, and how
    to reach it."""

    url: str = ""
    target: Target | None = None
    prefix: str = ""
    username: str | None = None
    password: str | None = None
    insecure: bool = False
    ca_cert: Path | None = None
    owns_target: bool = False  # the OCI destination closes ``target`` with itself
    #: the API's retry policy on reads; None: :data:`~core.registry.retry.CHECK_RETRIES`
    retries: RetryPolicy | None = None
