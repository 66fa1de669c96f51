"""What every HTTP client of archfuse sets up the same way: the server URL, TLS, and error mapping.

The registry client, the Harbor API client and the chart repository clients use these helpers so
that a URL, a ``--ca-cert`` or a broken TLS handshake means the same everywhere.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from core import __version__
from core.advice import Advice
from core.errors import RegistryError, TLSError, TransportError, UsageError
from core.http.bounds import ACCEPT_ENCODING, DEADLINE_PASSED, DEFAULT_DEADLINE, Deadline, event_hooks
from core.http.interrupt import make_cuttable


def split_base_url(base_url: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` of a registry URL (``https://`` when no scheme); a path is refused."""
    text = base_url.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"Not a registry URL: {base_url!r}.", hint="Use https://host[:port].")
    if parts.path.strip("/"):
        raise UsageError(
            f"The registry URL {scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path} has a path.",
            hint=Advice("Give the registry as https://host[:port] and {prefix} for the path."),
        )
    host = parts.netloc.rsplit("@", 1)[-1].lower()
    return scheme, host


def registry_origin(base_url: str, *, insecure: bool) -> tuple[str, str]:
    """:func:`split_base_url`, refusing plain HTTP unless ``insecure``."""
    scheme, host = split_base_url(base_url)
    if scheme == "http" and not insecure:
        raise UsageError(
            f"Registry {scheme}://{host} uses plain HTTP.",
            hint=Advice("{Insecure} to allow unencrypted connections, or use an https:// URL."),
        )
    return scheme, host


def ssl_context(ca_cert: Path | None) -> ssl.SSLContext:
    """The system trust store, plus ``ca_cert`` (a PEM file or a hashed certificate directory)."""
    context = ssl.create_default_context()
    if ca_cert is not None:
        try:
            if Path(ca_cert).is_dir():
                context.load_verify_locations(capath=str(ca_cert))
            else:
                context.load_verify_locations(cafile=str(ca_cert))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"Cannot use the CA certificate {ca_cert} ({type(exc).__name__}).",
                hint=Advice("{Ca_cert} with a PEM file."),
            ) from None
    return context


def tls_verify(*, insecure: bool, ca_cert: Path | None) -> ssl.SSLContext | bool:
    """httpx's ``verify``: False when ``insecure``, else a context trusting ``ca_cert`` too."""
    return False if insecure else ssl_context(ca_cert)


#: how archfuse names itself to every server
USER_AGENT = f"archfuse/{__version__}"
#: seconds to open a connection (the whole-request ``timeout`` is each client's)
CONNECT_TIMEOUT = 15.0


def http_client(
    *,
    insecure: bool,
    ca_cert: Path | None,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
    base_url: str = "",
    auth: httpx.Auth | None = None,
    max_connections: int = 10,
    server: str = "registry",
    deadline: Deadline | None = None,
) -> httpx.Client:
    """The httpx client of every archfuse server client (registry, Harbor API, chart repositories).

    TLS per :func:`tls_verify`; the proxy environment (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``ALL_PROXY``, ``NO_PROXY``) honoured; ``timeout`` seconds per read and write, at most
    :data:`CONNECT_TIMEOUT` to connect, no limit on waiting for a pooled connection; archfuse's
    user agent; redirects only where a caller asks. Every answer is bounded in size and every
    request in time (:mod:`core.http.bounds`: ``deadline``, ``server`` names the kind in messages);
    with httpx's own transport, connections can be cut (:func:`core.http.interrupt.make_cuttable`).
    """
    client = httpx.Client(
        transport=transport,
        verify=tls_verify(insecure=insecure, ca_cert=ca_cert),
        timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout), pool=None),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        base_url=base_url,
        auth=auth,
        follow_redirects=False,
        trust_env=True,
        event_hooks=event_hooks(server, deadline or DEFAULT_DEADLINE),
    )
    if transport is None:
        make_cuttable(client)  # the deadline is kept on its connections
    return client


_Client = TypeVar("_Client", bound="HttpClientOwner")


class HttpClientOwner:
    """A client of one server that owns an httpx client: ``close()``, ``with`` support and a repr."""

    #: the server's URL without credentials, for messages
    description: str
    _http: httpx.Client

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"


def find_ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` behind a transport failure (through causes and arguments), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        for arg in current.args:
            if isinstance(arg, ssl.SSLError):
                return arg
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return ssl.SSLCertVerificationError(text)
    return None


def transport_error(exc: Exception, what: str, where: str, server: str = "registry") -> RegistryError:
    """A TLSError or TransportError sentence for a failure reaching ``server`` (``registry``,
    ``Harbor``, ``ChartMuseum``) at ``where`` during ``what``."""
    ssl_error = find_ssl_error(exc)
    if ssl_error is not None:
        if isinstance(ssl_error, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            ssl_error
        ):
            verified = ssl_error.verify_message if isinstance(ssl_error, ssl.SSLCertVerificationError) else ""
            reason = verified or "unknown certificate authority"
            return TLSError(
                f"The TLS certificate of {server} {where} could not be verified ({reason}).",
                hint=Advice("If it is self-signed or from a private CA, {ca_cert} with that CA certificate, "
                           "or {insecure} to skip verification."),
            )
        return TLSError(
            f"The TLS handshake with {server} {where} failed ({type(ssl_error).__name__}).",
            hint=Advice(f"If the {server} serves plain HTTP, use an http:// URL and {{insecure}}; "
                        "for a private CA {ca_cert}."),
        )
    return TransportError(
        f"Cannot reach {server} {where} during {what} ({transport_detail(exc)}: {type(exc).__name__}).",
        hint=f"Check the address, the network and that the {server} is running, then run again.",
    )


def transport_detail(exc: Exception) -> str:
    """``timed out``, ``connection failed`` or ``connection broke``: what went wrong, in words."""
    if isinstance(exc, httpx.TimeoutException) and str(exc).startswith(DEADLINE_PASSED):
        return f"too slow, {str(exc)[len(DEADLINE_PASSED) + 2 :]}"  # e.g. no full answer within 300 s
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    return "connection broke"
