"""Registry authentication: HTTP basic and the bearer token challenge.

The first 401 tells which scheme the registry wants. Basic: the credentials go on every
request from then on. Bearer: a token is fetched from the challenge's ``realm`` for the
scopes a request needs (``repository:NAME:pull,push``), cached per scope until it expires,
and fetched again when a request carrying it is refused. Threads needing the same scopes wait for
one fetch, and :meth:`Authenticator.prefetch` asks for the scopes of many repositories in a few
tokens; where the realm grants fewer, the per-request path takes over.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from core.advice import Advice
from core.errors import AuthError, RegistryError
from core.registry.credentials import Credentials

_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')
_DEFAULT_TTL = 60.0
#: what to do when a registry wants credentials and none were given
ANONYMOUS_HINT = Advice("{Login}, set ARCHFUSE_USERNAME/ARCHFUSE_PASSWORD, or run docker login.")
#: a token is dropped this many seconds before the server would reject it
_EXPIRY_MARGIN = 10.0
#: scopes asked for in one token by :meth:`Authenticator.prefetch`: the token travels in a header,
#: which proxies in front of registries commonly cap at 8 KiB
PREFETCH_SCOPES = 25


@dataclass(frozen=True, order=True)
class Scope:
    """A resource scope of the token protocol, e.g. ``repository:team/app:pull,push``."""

    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    @classmethod
    def parse(cls, text: str) -> Scope | None:
        """Parse ``type:name:actions``; None when malformed."""
        head, sep, actions = text.rpartition(":")
        kind, sep2, name = head.partition(":")
        if not sep or not sep2 or not kind or not name:
            return None
        return cls(kind, name, tuple(sorted({a for a in actions.split(",") if a})))

    def covers(self, other: Scope) -> bool:
        """True when this scope grants everything ``other`` asks for."""
        return (self.type, self.name) == (other.type, other.name) and set(other.actions) <= set(self.actions)


def pull(repository: str) -> Scope:
    """Read access to a repository."""
    return Scope("repository", repository, ("pull",))


def push(repository: str) -> Scope:
    """Read and write access to a repository."""
    return Scope("repository", repository, ("pull", "push"))


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` challenge."""

    scheme: str  # lower case: "basic" or "bearer"
    params: dict[str, str]


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` header values (one challenge per value, as registries send them)."""
    out: list[Challenge] = []
    for value in values:
        text = value.strip()
        scheme, _, rest = text.partition(" ")
        if not scheme:
            continue
        params: dict[str, str] = {}
        for key, raw in _PARAM.findall(rest):
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            params[key.lower()] = raw
        out.append(Challenge(scheme.lower(), params))
    return out


@dataclass
class _Token:
    value: str
    scopes: tuple[Scope, ...]
    expires: float


#: fetches a token: (realm URL, query parameters, basic auth or None) -> response
TokenFetch = Callable[[str, list[tuple[str, str]], "tuple[str, str] | None"], httpx.Response]


class Authenticator:
    """Adds the right ``Authorization`` header to requests and reacts to 401 challenges."""

    def __init__(
        self,
        credentials: Credentials | None,
        server: str,
        fetch: TokenFetch,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._server = server
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._fetching: dict[tuple[Scope, ...], threading.Lock] = {}  # one fetch per set of scopes at a time
        self._scheme: str | None = None
        self._realm = ""
        self._service = ""
        self._tokens: list[_Token] = []

    @property
    def scheme(self) -> str | None:
        """``basic``, ``bearer``, or None while no challenge has been seen."""
        return self._scheme

    def headers_for(self, scopes: tuple[Scope, ...]) -> dict[str, str]:
        """The ``Authorization`` header for a request needing ``scopes`` (empty when none is known yet)."""
        if self._scheme == "basic" and self._credentials:
            return {"Authorization": self._basic_header()}
        if self._scheme == "bearer":
            token = self._cached(scopes) or self._token_once(scopes)
            return {"Authorization": f"Bearer {token.value}"}
        return {}

    def prefetch(self, reads: Iterable[Scope], writes: Iterable[Scope] = ()) -> None:
        """Fetch tokens up front, :data:`PREFETCH_SCOPES` ``writes`` per token, each also carrying
        (up to as many of) the ``reads``, so that a request needing one write and one read (a
        cross-repository mount) finds one token for both. Without writes, the reads are batched.

        Bearer only, best effort: a refusal here is left to the requests, which report it in context.
        """
        if self._scheme != "bearer":
            return
        shared = sorted(set(reads))
        batched = sorted(set(writes))
        shared, batched = (shared[:PREFETCH_SCOPES], batched) if batched else ([], shared)
        for start in range(0, len(batched), PREFETCH_SCOPES):
            try:
                self._new_token(tuple(batched[start : start + PREFETCH_SCOPES] + shared))
            except RegistryError:
                return

    def on_unauthorized(self, response: httpx.Response, scopes: tuple[Scope, ...]) -> bool:
        """Learn from a 401: returns True when the request is worth sending again with new headers."""
        challenges = parse_challenges(response.headers.get_list("www-authenticate"))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None and bearer.params.get("realm"):
            had_token = self._scheme == "bearer" and response.request.headers.get("authorization", "")
            with self._lock:
                self._scheme = "bearer"
                self._realm = bearer.params["realm"]
                self._service = bearer.params.get("service", "")
                if had_token:
                    self._drop(str(response.request.headers["authorization"]).removeprefix("Bearer "))
            wanted = list(scopes)
            extra = Scope.parse(bearer.params.get("scope", ""))
            if extra is not None and not any(s.covers(extra) for s in wanted):
                wanted.append(extra)
            self._new_token(tuple(wanted))
            return True
        if basic is not None or not challenges:
            if not self._credentials:
                raise AuthError(
                    f"Registry {self._server} requires credentials.",
                    hint=ANONYMOUS_HINT,
                    status=401,
                )
            if response.request.headers.get("authorization", "").lower().startswith("basic "):
                return False  # the credentials were sent and refused
            self._scheme = "basic"  # learned now, or by another thread while this request was out
            return True
        return False

    def refused(self, scopes: tuple[Scope, ...]) -> AuthError:
        """The error for a request that stays unauthorized after authenticating."""
        if not self._credentials:
            return AuthError(
                f"Registry {self._server} refused anonymous access.",
                hint=ANONYMOUS_HINT,
                status=401,
            )
        wants = ", ".join(str(s) for s in scopes)
        what = f" for {wants}" if wants else ""
        return AuthError(
            f"Registry {self._server} refused the credentials of user '{self._credentials.username}'{what}.",
            hint="Check the username and password, and that the account may push to these repositories.",
            status=401,
        )

    # -- internals -----------------------------------------------------------------------------

    def _basic_header(self) -> str:
        assert self._credentials is not None
        pair = f"{self._credentials.username}:{self._credentials.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _cached(self, scopes: tuple[Scope, ...]) -> _Token | None:
        now = self._clock()
        with self._lock:
            self._tokens = [t for t in self._tokens if t.expires > now]
            for token in self._tokens:
                if all(any(have.covers(want) for have in token.scopes) for want in scopes):
                    return token
        return None

    def _token_once(self, scopes: tuple[Scope, ...]) -> _Token:
        """A new token for ``scopes``, unless another thread fetched one covering them meanwhile."""
        key = tuple(sorted(set(scopes)))
        with self._lock:
            fetching = self._fetching.setdefault(key, threading.Lock())
        with fetching:
            return self._cached(scopes) or self._new_token(scopes)

    def _drop(self, value: str) -> None:
        self._tokens = [t for t in self._tokens if t.value != value]

    def _new_token(self, scopes: tuple[Scope, ...]) -> _Token:
        params: list[tuple[str, str]] = []
        if self._service:
            params.append(("service", self._service))
        for scope in sorted(set(scopes)):
            params.append(("scope", str(scope)))
        basic: tuple[str, str] | None = None
        if self._credentials:
            params.append(("account", self._credentials.username))
            basic = (self._credentials.username, self._credentials.password)
        response = self._fetch(self._realm, params, basic)
        if response.status_code in (401, 403):
            raise self.refused(())
        if response.status_code != 200:
            raise RegistryError(
                f"The token service of registry {self._server} answered HTTP {response.status_code}.",
                hint="Check that the registry's authentication service is running.",
                status=response.status_code,
            )
        try:
            body = response.json()
            value = str(body.get("token") or body.get("access_token") or "")
            ttl = float(body.get("expires_in") or _DEFAULT_TTL)
        except (ValueError, AttributeError, TypeError):
            value, ttl = "", 0.0
        if not value:
            raise RegistryError(
                f"The token service of registry {self._server} sent no token.",
                hint="Check the registry's authentication configuration.",
            )
        token = _Token(value, tuple(scopes), self._clock() + max(ttl - _EXPIRY_MARGIN, ttl / 2))
        with self._lock:
            self._tokens.append(token)
        return token
