"""What the Target form holds, and how it becomes an engine target (no textual here)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import UsageError
from core.run.engine import RunOptions
from core.session import CheckOptions
from core.targets.base import Target
from core.units import parse_size


@dataclass
class TargetSettings:
    """The Target screen's form. ``password`` is never shown or logged."""

    registry: str = ""
    chart_repo: str = ""
    chart_repo_type: str = "oci"  # oci | chartmuseum | harbor
    username: str = ""
    password: str = ""
    insecure: bool = False
    ca_cert: str = ""
    prefix: str = ""
    cluster_config: str = ""
    create_spaces: bool = False  # set for one check only, after the engineer agreed
    space_visibility: str = "public"  # public | private: new Harbor projects
    registry_storage: str = ""  # where a registry on this node stores data (the target-disk gauge)
    spool_dir: str = ""  # empty: the system's temporary directory
    spool_budget: str = "256MiB"
    # decisions taken on the Checks screen (each asked first); they last until the selection changes
    force_charts: bool = False  # overwrite chart versions whose content differs
    ignored: frozenset[str] = frozenset()  # kinds of failed checks to go past (CheckKind values)

    def describe(self) -> str:
        """A display name without secrets."""
        value = self.registry.strip()
        if not value:
            return "(no target)"
        return value if value.startswith(("http://", "https://", "oci:")) else f"oci:{value}"


def target_config(settings: TargetSettings) -> Any:
    """The engine's validated TargetConfig for the form (UsageError naming the field if not)."""
    from core.config import build_target_config, load_cluster_config

    cluster = load_cluster_config(Path(settings.cluster_config.strip())) if settings.cluster_config.strip() else None
    chart_repo = settings.chart_repo.strip() or None
    return build_target_config(
        settings.registry.strip() or None,
        cluster,
        username=settings.username.strip() or None,
        password=settings.password or None,
        insecure=settings.insecure,
        ca_cert=Path(settings.ca_cert.strip()).expanduser() if settings.ca_cert.strip() else None,
        chart_repo=chart_repo,
        chart_repo_type=settings.chart_repo_type if chart_repo else None,
        prefix=settings.prefix,
        create_spaces=settings.create_spaces,
        space_visibility=settings.space_visibility,
    )


def check_options(settings: TargetSettings) -> CheckOptions:
    """The preflight's choices the form holds: the registry storage to check, the failed kinds to go past."""
    storage = settings.registry_storage.strip()
    return CheckOptions(registry_storage=Path(storage).expanduser() if storage else None, ignore=settings.ignored)


def run_options(settings: TargetSettings, base: RunOptions) -> RunOptions:
    """``base`` with the form's spool directory and budget (UsageError naming the field if unreadable)."""
    spool_dir = settings.spool_dir.strip()
    budget = parse_size(settings.spool_budget or "256MiB", flag="The spool budget")
    return dataclasses.replace(base, spool_budget=budget, spool_dir=Path(spool_dir).expanduser() if spool_dir else None)


def chart_credentials_from_env() -> str:
    """Which chart-repository credentials the environment gives (never the password), for the form."""
    user = os.environ.get("ARCHFUSE_CHART_USERNAME", "")
    password = "and a password " if os.environ.get("ARCHFUSE_CHART_PASSWORD") else ""
    if not user and not password:
        return "none in the environment (ARCHFUSE_CHART_USERNAME / _PASSWORD)"
    return f"user {user!r} {password}from ARCHFUSE_CHART_USERNAME / _PASSWORD" if user else \
        "a password from ARCHFUSE_CHART_PASSWORD, no user name"


def open_target(settings: TargetSettings) -> Target:
    """Build the engine target the form describes; UsageError with a sentence if it cannot."""
    if not settings.registry.strip() and not settings.cluster_config.strip():
        raise UsageError("Enter a registry URL (https://host[:port]) or an OCI layout directory.")
    from core.targets.connect import open_target as connect

    return connect(target_config(settings))


@dataclass
class Connection:
    """What a Session needs for the form's target: the target, chart destination, prefix, secrets."""

    target: Target
    charts: Any
    prefix: str
    secrets: tuple[str, ...]
    config: Any = None  # the engine's TargetConfig (Harbor spaces, target disk)


def connect(settings: TargetSettings) -> Connection:
    """Open the target and, when the engine offers it, the chart destination."""
    if not settings.registry.strip() and not settings.cluster_config.strip():
        raise UsageError("Enter a registry URL (https://host[:port]) or an OCI layout directory.")
    from core.targets import connect as engine

    config = target_config(settings)
    target = engine.open_target(config)
    charts = None
    opener = getattr(engine, "open_chart_destination", None)
    if opener is not None:
        try:
            charts = opener(config, target)
        except Exception:
            target.close()
            raise
    return Connection(target, charts, str(getattr(config, "prefix", settings.prefix.strip())),
                      tuple(s for s in (settings.password,) if s), config)
