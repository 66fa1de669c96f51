"""Open the target a TargetConfig describes."""

from __future__ import annotations

from typing import TypeVar

from core.config import TargetConfig
from core.registry.client import RegistryClient
from core.registry.credentials import resolve_credentials
from core.registry.harbor import HarborClient
from core.registry.retry import CHECK_RETRY_FOR, RetryPolicy
from core.targets.base import Target
from core.targets.layout import LayoutTarget
from core.targets.registry import RegistryTarget

H = TypeVar("H", bound=HarborClient)


def open_registry(url: str, *, username: str | None, password: str | None, config: TargetConfig) -> RegistryTarget:
    """A registry at ``url`` with credentials resolved (flags, environment, docker config) and the
    configuration's TLS options, retry budget and stall timeout."""
    credentials = resolve_credentials(url, username=username, password=password)
    client = RegistryClient(
        url, credentials=credentials, insecure=config.insecure, ca_cert=config.ca_cert,
        retries=RetryPolicy(max_total=config.retry_for), timeout=config.stall_timeout,
    )
    return RegistryTarget(client, url)


def open_target(config: TargetConfig) -> Target:
    """A LayoutTarget or a RegistryTarget for ``config`` (validated first)."""
    config.validate()
    if config.layout_path is not None:
        return LayoutTarget(config.layout_path)
    assert config.registry_url is not None
    return open_registry(
        config.registry_url,
        username=config.username,
        password=config.password.reveal() if config.password else None,
        config=config,
    )


def open_harbor(config: TargetConfig, kind: type[H] = HarborClient) -> H | None:  # type: ignore[assignment]
    """A HarborClient (or the ``kind`` of one) for the registry a target configuration names
    (credentials resolved as for the registry itself); None for an OCI layout target."""
    if config.registry_url is None:
        return None
    credentials = resolve_credentials(
        config.registry_url,
        username=config.username,
        password=config.password.reveal() if config.password else None,
    )
    return kind(
        config.registry_url, credentials=credentials, insecure=config.insecure, ca_cert=config.ca_cert,
        retries=RetryPolicy(max_total=min(config.retry_for, CHECK_RETRY_FOR)),  # project checks: questions
    )
