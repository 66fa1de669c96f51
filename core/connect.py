"""Open the target a TargetConfig describes."""

from __future__ import annotations

from core.config import TargetConfig
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
