"""Open the target a TargetConfig describes."""

from __future__ import annotations

from core.charts.destinations import ChartDestination
from core.config import TargetConfig
from core.kinds import ChartDestinationKind
from core.targets.base import Target


def open_target(config: TargetConfig) -> Target:
    """A LayoutTarget or a RegistryTarget for ``config`` (validated first)."""
    config.validate()
    if config.layout_path is not None:
        from core.targets.layout import LayoutTarget

        return LayoutTarget(config.layout_path)
    from core.registry.client import RegistryClient
    from core.registry.credentials import resolve_credentials
    from core.targets.registry import RegistryTarget

    assert config.registry_url is not None
    credentials = resolve_credentials(
        config.registry_url,
        username=config.username,
        password=config.password.reveal() if config.password else None,
    )
    client = RegistryClient(
        config.registry_url, credentials=credentials, insecure=config.insecure, ca_cert=config.ca_cert
    )
    return RegistryTarget(client, config.registry_url)


def open_chart_destination(config: TargetConfig, target: Target) -> ChartDestination:
    """The chart destination: ``--chart-repo`` when given, else the image target as OCI charts."""
    from core.charts.destinations import make_destination

    if not config.chart_repo_url:
        return make_destination(ChartDestinationKind.OCI, target=target, prefix=config.prefix)
    if config.chart_repo_type == ChartDestinationKind.OCI:
        from core.registry.client import RegistryClient
        from core.registry.credentials import resolve_credentials
        from core.targets.registry import RegistryTarget

        secret = config.chart_password or config.password
        creds = resolve_credentials(
            config.chart_repo_url,
            username=config.chart_username or config.username,
            password=secret.reveal() if secret else None,
        )
        client = RegistryClient(config.chart_repo_url, credentials=creds, insecure=config.insecure, ca_cert=config.ca_cert)
        return make_destination(
            ChartDestinationKind.OCI,
            target=RegistryTarget(client, config.chart_repo_url),
            prefix=config.prefix,
            owns_target=True,
        )
    return make_destination(
        config.chart_repo_type,
        url=config.chart_repo_url,
        username=config.chart_username,
        password=config.chart_password.reveal() if config.chart_password else None,
        insecure=config.insecure,
        ca_cert=config.ca_cert,
    )
