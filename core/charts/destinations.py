"""Chart destination kinds in one registry: ``--chart-repo-type`` (config validation, the CLI's and
the TUI's choices) reads :data:`DESTINATIONS`; to add a kind, add a :class:`ChartDestinationKind`
member and its class here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from core.charts.chartmuseum import ChartMuseumDestination
from core.charts.harbor import HarborChartDestination
from core.charts.oci import OciChartDestination
from core.charts.protocol import ChartDestination, decide
from core.errors import UsageError
from core.kinds import ChartDestinationKind
from core.targets.base import Target

__all__ = ["DESTINATIONS", "ChartDestination", "decide", "destination_choices", "destination_kind", "make_destination"]

DestinationClass = Union[type[OciChartDestination], type[ChartMuseumDestination], type[HarborChartDestination]]

#: every kind of chart destination and the class that talks to it
DESTINATIONS: dict[ChartDestinationKind, DestinationClass] = {
    ChartDestinationKind.OCI: OciChartDestination,
    ChartDestinationKind.CHARTMUSEUM: ChartMuseumDestination,
    ChartDestinationKind.HARBOR: HarborChartDestination,
}


def destination_choices() -> list[tuple[str, ChartDestinationKind]]:
    """``(title, kind)`` of every kind, for a choice list."""
    return [(cls.TITLE, kind) for kind, cls in DESTINATIONS.items()]


def destination_kind(name: str) -> ChartDestinationKind:
    """The kind ``--chart-repo-type NAME`` names; UsageError for another name."""
    try:
        return ChartDestinationKind(name)
    except ValueError:
        raise UsageError(
            f"Unknown chart repository type {name!r}: use " + ", ".join(k.value for k in DESTINATIONS) + "."
        ) from None


def make_destination(
    kind: str,
    *,
    url: str = "",
    target: Target | None = None,
    prefix: str = "",
    username: str | None = None,
    password: str | None = None,
    insecure: bool = False,
    ca_cert: Path | None = None,
    owns_target: bool = False,
) -> ChartDestination:
    """A destination of ``kind`` (``--chart-repo-type``): OCI charts in ``target``, else the API at ``url``.

    ``owns_target``: the OCI destination closes ``target`` when it is closed (a chart registry of its own).
    """
    which = destination_kind(kind)
    if which == ChartDestinationKind.OCI:
        if target is None:
            raise UsageError("OCI charts need a registry or OCI layout target.")
        return OciChartDestination(target, prefix=prefix, owns_target=owns_target)
    if which == ChartDestinationKind.CHARTMUSEUM:
        return ChartMuseumDestination(url, username=username, password=password, insecure=insecure, ca_cert=ca_cert)
    return HarborChartDestination(url, username=username, password=password, insecure=insecure, ca_cert=ca_cert)
