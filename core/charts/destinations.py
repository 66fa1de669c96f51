"""Chart destination kinds in one registry, :data:`DESTINATIONS`: each kind's class builds itself
from a :class:`DestinationSpec` (:meth:`build`). ``--chart-repo-type`` (the CLI's and the TUI's
choices) reads the registry; a kind it does not hold is refused, never taken for another. To add a
kind, add a :class:`~core.kinds.ChartDestinationKind` member and register its class here.
"""

from __future__ import annotations

from typing import Protocol

from core.charts.chartmuseum import ChartMuseumDestination
from core.charts.harbor import HarborChartDestination
from core.charts.oci import OciChartDestination
from core.charts.protocol import ChartDestination, DestinationSpec, decide
from core.config import TargetConfig
from core.errors import UsageError
from core.kinds import ChartDestinationKind
from core.targets.base import Target
from core.targets.connect import check_retries, open_registry

__all__ = [
    "DESTINATIONS",
    "ChartDestination",
    "DestinationSpec",
    "decide",
    "destination_choices",
    "destination_kind",
    "make_destination",
    "open_chart_destination",
]


class DestinationClass(Protocol):
    """What the registry holds for a kind: a title for choice lists and a builder."""

    TITLE: str

    def build(self, spec: DestinationSpec) -> ChartDestination:
        """The destination ``spec`` describes."""


#: every kind of chart destination and the class that talks to it
DESTINATIONS: dict[str, DestinationClass] = {
    ChartDestinationKind.OCI.value: OciChartDestination,
    ChartDestinationKind.CHARTMUSEUM.value: ChartMuseumDestination,
    ChartDestinationKind.HARBOR.value: HarborChartDestination,
}


def destination_choices() -> list[tuple[str, str]]:
    """``(title, kind)`` of every kind, for a choice list."""
    return [(cls.TITLE, str(kind)) for kind, cls in DESTINATIONS.items()]


def destination_kind(name: str) -> DestinationClass:
    """The class of the kind ``--chart-repo-type NAME`` names; UsageError for a kind not registered."""
    cls = DESTINATIONS.get(str(name))
    if cls is None:
        raise UsageError(
            f"Unknown chart repository type {str(name)!r}: use " + ", ".join(str(k) for k in DESTINATIONS) + "."
        )
    return cls


def make_destination(kind: str, spec: DestinationSpec) -> ChartDestination:
    """A destination of ``kind`` (``--chart-repo-type``), built by its registered class from ``spec``:
    OCI charts in ``spec.target``, else the API at ``spec.url``."""
    return destination_kind(kind).build(spec)


def open_chart_destination(config: TargetConfig, target: Target) -> ChartDestination:
    """The chart destination: ``--chart-repo`` when given, else the image target as OCI charts."""
    if not config.chart_repo_url:
        return make_destination(ChartDestinationKind.OCI, DestinationSpec(target=target, prefix=config.prefix))
    if config.chart_repo_type == ChartDestinationKind.OCI:
        secret = config.chart_password or config.password
        own = open_registry(
            config.chart_repo_url,
            username=config.chart_username or config.username,
            password=secret.reveal() if secret else None,
            config=config,
        )
        return make_destination(
            ChartDestinationKind.OCI, DestinationSpec(target=own, prefix=config.prefix, owns_target=True)
        )
    spec = DestinationSpec(
        url=config.chart_repo_url,
        username=config.chart_username,
        password=config.chart_password.reveal() if config.chart_password else None,
        insecure=config.insecure,
        ca_cert=config.ca_cert,
        retries=check_retries(config),  # its checks are questions, bounded by --retry-for too
    )
    return make_destination(config.chart_repo_type, spec)
