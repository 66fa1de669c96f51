"""What every client of a registry host shares: its origin, TLS, credentials, retries and one httpx client."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import httpx

from core.http.base import HttpClientOwner, http_client, registry_origin
from core.http.bounds import Deadline
from core.registry.credentials import Credentials
from core.registry.retry import RetryPolicy


class RegistryEndpoint(HttpClientOwner):
    """A client of one registry host (``https://host[:port]``): the registry API or Harbor's."""

    #: seconds a read or write may take unless the caller says
    TIMEOUT: ClassVar[float] = 30.0
    #: the path the client's relative request URLs start from ("" for none)
    API_PATH: ClassVar[str] = ""
    #: the server's kind, in messages
    SERVER: ClassVar[str] = "registry"
    #: retries unless the caller says: the registry's ride through a restart (``--retry-for``)
    RETRIES: ClassVar[RetryPolicy] = RetryPolicy()

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        insecure: bool = False,
        ca_cert: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | None = None,
        retries: RetryPolicy | None = None,
        max_connections: int = 10,
        deadline: Deadline | None = None,
    ) -> None:
        scheme, host = registry_origin(base_url, insecure=insecure)
        self.scheme = scheme
        #: ``host[:port]``, used in image destinations
        self.host = host
        #: the URL without credentials, for messages
        self.description = f"{scheme}://{host}"
        self.credentials = credentials
        self.insecure = insecure
        self.retries = retries or self.RETRIES
        self._http = http_client(
            insecure=insecure,
            ca_cert=ca_cert,
            transport=transport,
            timeout=self.TIMEOUT if timeout is None else timeout,
            base_url=f"{self.description}{self.API_PATH}" if self.API_PATH else "",
            max_connections=max_connections,
            server=self.SERVER,
            deadline=deadline,
        )
