"""Distribution (OCI registry) API client: auth, TLS, retries, blobs and manifests."""

from __future__ import annotations

from core.registry.client import RegistryClient
from core.registry.credentials import Credentials, resolve_credentials
from core.registry.retry import RetryPolicy

__all__ = ["Credentials", "RegistryClient", "RetryPolicy", "resolve_credentials"]
