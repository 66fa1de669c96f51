"""What the Target form holds, and how it becomes the engine's target configuration (no textual here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import TargetConfig, TargetInputs, secret, target_config
from core.errors import UsageError
from core.session import CheckOptions


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

    def describe(self) -> str:
        """A display name without secrets."""
        value = self.registry.strip()
        if not value:
            return "(no target)"
        return value if value.startswith(("http://", "https://", "oci:")) else f"oci:{value}"

    def inputs(self) -> TargetInputs:
        """What the form holds, as the engine's target inputs (the chart type counts with a chart repo)."""
        return TargetInputs(
            registry=self.registry,
            cluster_config=self.cluster_config,
            username=self.username,
            password=secret(self.password),
            insecure=self.insecure,
            ca_cert=self.ca_cert,
            prefix=self.prefix,
            chart_repo=self.chart_repo,
            chart_repo_type=self.chart_repo_type if self.chart_repo.strip() else "",
            create_spaces=self.create_spaces,
            space_visibility=self.space_visibility,
        )

    def target_config(self) -> TargetConfig:
        """The engine's validated TargetConfig for the form and the environment (UsageError if not)."""
        inputs = self.inputs()
        if not inputs.names_target:
            raise UsageError("Enter a registry URL (https://host[:port]) or an OCI layout directory.")
        return target_config(inputs)


def check_options(settings: TargetSettings) -> CheckOptions:
    """The preflight's choices the form holds: the registry storage to check for free space."""
    storage = settings.registry_storage.strip()
    return CheckOptions(registry_storage=Path(storage).expanduser() if storage else None)
