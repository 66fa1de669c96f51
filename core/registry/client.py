"""A synchronous client of the distribution (OCI registry) HTTP API.

Thread-safe: the engine shares one client between its upload threads. Every failure is a
typed error from :mod:`core.errors` whose message names the server and what to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import httpx

from core import events as ev
from core.advice import Advice, template_of
from core.errors import (
    AuthError,
    BlobUnknown,
    Cancelled,
    DigestMismatch,
    NotFound,
    RegistryError,
    SpaceMissing,
    TLSError,
    TransportError,
)
from core.http.base import transport_detail, transport_error
from core.http.bounds import DEFAULT_STALL_TIMEOUT, MAX_BODY, Deadline
from core.http.interrupt import CuttableBackend, make_cuttable
from core.oci import mediatypes as mt
from core.oci.digest import sha256_digest
from core.oci.manifest import ManifestRef, load_document
from core.oci.refs import space_of
from core.registry.auth import Authenticator, Scope, pull, push
from core.registry.credentials import Credentials
from core.registry.endpoint import RegistryEndpoint
from core.registry.retry import CHECK_RETRY_FOR, RETRYABLE_STATUS, Retrying, RetryPolicy, send_retrying
from core.registry.uploads import OpenUpload, UploadMemo
from core.units import duration_text

log = logging.getLogger("archfuse.registry")

Progress = Callable[[int], None]

DEFAULT_CHUNK_THRESHOLD = 16 << 20
DEFAULT_CHUNK_SIZE = 16 << 20
#: a blob is sent in at least this many chunks (each at least MIN_CHUNK, at most the client's
#: ``chunk_size``): a break re-sends at most one chunk, a small part of the blob
CHUNKS_PER_BLOB = 32
MIN_CHUNK = 2 << 20
_SLICE = 1 << 20
_OCTET = "application/octet-stream"
_PROJECT_MISSING = re.compile(r"project\s+['\"]?([A-Za-z0-9._-]+)['\"]?\s+not\s+found", re.IGNORECASE)
_UPLOAD_GONE = {"BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN"}
_BLOB_UNKNOWN = {"MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"}
#: new uploads started for one blob whose upload the registry keeps dropping before archfuse gives up
_UPLOAD_RESTARTS = 5
#: bytes per second a registry is given to check (hash, move) a completed blob before it answers
_CHECK_RATE = 20 << 20
#: seconds assumed for a round trip before one was measured
_FIRST_ROUND_TRIP = 0.05
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
#: how a failing request ends: what to do
_RESUME_HINT = "Check the network and the registry, then run the same command again: it continues where it stopped."


class RegistryClient(RegistryEndpoint):
    """Talk to one registry: ping, blobs (HEAD, mount, upload, GET) and manifests (GET, HEAD, PUT)."""

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        insecure: bool = False,
        ca_cert: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        retries: RetryPolicy | None = None,
        chunk_threshold: int = DEFAULT_CHUNK_THRESHOLD,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        timeout: float = DEFAULT_STALL_TIMEOUT,
        max_connections: int = 32,
        deadline: Deadline | None = None,
    ) -> None:
        if chunk_size <= 0 or chunk_threshold < 0:
            raise ValueError("chunk sizes must be positive")
        super().__init__(base_url, credentials=credentials, insecure=insecure, ca_cert=ca_cert, transport=transport,
                         timeout=timeout, retries=retries, max_connections=max_connections, deadline=deadline)
        #: seconds a request may move no byte (its read and write timeout) before it is retried
        self.stall_timeout = timeout
        self.chunk_threshold = chunk_threshold
        self.chunk_size = chunk_size
        #: cuts the requests in flight when a run is cancelled (httpx's own transport only)
        self._backend: CuttableBackend | None = make_cuttable(self._http) if transport is None else None
        self._auth = Authenticator(credentials, self.description, self._fetch_token)
        self._emit: ev.Emit = ev.discard
        self._cancel: threading.Event | None = None
        #: unfinished chunked uploads, noted so a later run continues them (None: not noted)
        self.uploads: UploadMemo | None = None
        self._open = 0
        self._open_lock = threading.Lock()
        self._round_trip = _FIRST_ROUND_TRIP

    # -- a run watching ------------------------------------------------------------------------

    def watch(self, emit: ev.Emit, cancel: threading.Event | None) -> None:
        """Send retry notices to ``emit``; once ``cancel`` is set, start no request or retry (raise
        Cancelled). A run watches for its length, then calls ``watch(ev.discard, None)``."""
        self._emit, self._cancel = emit, cancel

    def interrupt(self) -> int:
        """Cut the connections in flight, so threads waiting on a stalled registry wake now; how many."""
        return self._backend.cut() if self._backend is not None else 0

    def _stop_if_cancelled(self) -> None:
        cancel = self._cancel
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"Cancelled: the requests to {self.description} in flight were abandoned.")

    def _retrying(self, what: str, reason: str, attempt: int, delay: float, until: float) -> None:
        """Tell the run a retry (try ``attempt + 2``) starts in ``delay`` seconds and that the tries
        go on until ``until`` (``time.time()``), unless it is cancelled."""
        self._stop_if_cancelled()
        self._emit(ev.Retrying(self.host, what, reason, attempt + 2, until, delay))

    def round_trip(self) -> float:
        """Seconds a request without a body takes lately (a moving average), for estimates."""
        return self._round_trip

    def open_requests(self) -> int:
        """Requests to the registry open now (sent and not yet answered)."""
        return self._open

    def waiting(self) -> str:
        """What a stalled run waits for, and that it does not wait for ever: ``2 requests to
        http://… open; one that moves no byte for 60 s is retried on a new connection``."""
        count = self._open
        head = f"{count} request{'s' if count != 1 else ''} to {self.description} open" if count else (
            f"waiting for {self.description}"
        )
        return f"{head}; one that moves no byte for {duration_text(self.stall_timeout)} is retried on a new connection"

    # -- public API ----------------------------------------------------------------------------

    def ping(self, *, retry: bool = True) -> None:
        """Check the registry answers the distribution API and accepts the credentials (one try
        without ``retry``: a quick look, where a failure only means doing without). A check is a
        question someone waits on: it is retried for :data:`CHECK_RETRY_FOR` at most, not the
        run's ``--retry-for``."""
        quick = dataclasses.replace(self.retries, max_total=min(self.retries.max_total, CHECK_RETRY_FOR))
        response = self._request("GET", "/v2/", scopes=(), what="the API check", retry=retry, policy=quick)
        if response.status_code == 200:
            return
        if response.status_code == 404:
            raise RegistryError(
                f"{self.description} does not serve the registry API (/v2/ answered 404).",
                hint="Check the registry URL.",
                status=404,
            )
        raise self._error(response, "the API check", policy=quick)

    def prepare(self, reads: Iterable[str], writes: Iterable[str] = ()) -> None:
        """Fetch tokens to pull ``reads`` and push ``writes`` up front: a few token requests for all."""
        self._auth.prefetch((pull(r) for r in reads), (push(r) for r in writes))

    def blob_exists(self, repository: str, digest: str) -> bool:
        """True when ``repository`` can serve the blob (HEAD)."""
        return self.blob_size(repository, digest) is not None

    def blob_size(self, repository: str, digest: str) -> int | None:
        """The size ``repository`` serves the blob with (HEAD; -1 when it does not say), None when it lacks it."""
        response = self._request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scopes=(pull(repository),), what=f"blob {digest}"
        )
        if response.status_code == 200:
            length = response.headers.get("content-length", "")
            return int(length) if length.isdigit() else -1
        if response.status_code == 404:
            return None
        raise self._error(response, f"a check of blob {digest} in {repository}", repository)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Mount a blob from another repository of this registry; False when the registry did not."""
        if from_repository == repository:
            return self.blob_exists(repository, digest)
        response = self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            params={"mount": digest, "from": from_repository},
            scopes=(push(repository), pull(from_repository)),
            what=f"a mount of blob {digest}",
        )
        if response.status_code == 201:
            return True
        if response.status_code == 202:
            self._cancel_upload(repository, response)
            return False
        raise self._error(response, f"a mount of blob {digest} into {repository}", repository)

    def put_blob(
        self, repository: str, digest: str, size: int, stream: BinaryIO, progress: Progress | None = None
    ) -> None:
        """Upload ``size`` bytes from ``stream`` as blob ``digest``; the registry verifies the digest.

        Blobs up to ``chunk_threshold`` bytes go in one PUT; larger ones in PATCH chunks of
        ``chunk_size`` that resume from the registry's ``Range`` when a chunk breaks (or start
        over when the registry dropped the upload and the stream is seekable). A chunked upload is
        noted in ``uploads`` as it goes, and continued by the next upload of the blob (a killed run).
        A stream that cannot seek is read once (see :meth:`stream_blob`).
        """
        meter = _Meter(progress)
        if size <= self.chunk_threshold:
            data = _read_exact(stream, size)
            if len(data) != size:
                raise self._short(repository, digest, size, len(data))
            self._put_monolithic(repository, digest, data, meter)
        else:
            _ChunkedUpload(self, repository, digest, size, stream, meter).run()

    def stream_blob(
        self, repository: str, digest: str, size: int, stream: BinaryIO, progress: Progress | None = None
    ) -> None:
        """Upload ``size`` bytes read once from ``stream``: as :meth:`put_blob`, holding one chunk
        (about 1/32 of the blob, 2 MiB to ``chunk_size``) in memory at a time, so a broken chunk is sent again from memory and the
        upload continues from the registry's ``Range``. The stream cannot go back further: when the
        registry dropped the upload, the blob fails and the next run uploads it (continuing a noted
        upload where the registry still has it)."""
        self.put_blob(repository, digest, size, stream, progress)

    def get_blob(self, repository: str, digest: str, max_size: int = 16 << 20) -> bytes:
        """A small blob's bytes, checked against ``digest``."""
        response = self._request(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scopes=(pull(repository),),
            what=f"blob {digest}",
            follow_redirects=True,
            max_body=max_size,
        )
        if response.status_code == 404:
            raise NotFound(
                f"Registry {self.description} has no blob {digest} in {repository}.",
                hint="Import the image again.",
                status=404,
            )
        if response.status_code != 200:
            raise self._error(response, f"a download of blob {digest} from {repository}", repository)
        data = response.content
        if digest.startswith("sha256:") and sha256_digest(data) != digest:
            raise DigestMismatch(
                f"Blob {digest} from {repository} on {self.description} does not match its digest.",
                hint="The registry storage may be corrupt; delete the blob and import again.",
            )
        return data

    def get_manifest(self, repository: str, reference: str) -> ManifestRef | None:
        """The manifest or index at a tag or digest (exact bytes), or None when absent."""
        response = self._manifest_request("GET", repository, reference, "a read")
        if response is None:
            return None
        data = response.content  # at most 4 MiB (core.http.bounds), as distribution allows
        digest = sha256_digest(data)
        claimed = response.headers.get("Docker-Content-Digest", "")
        expected = reference if reference.startswith("sha256:") else claimed
        if expected.startswith("sha256:") and expected != digest:
            raise DigestMismatch(
                f"Manifest {_ref(repository, reference)} from {self.description} does not match digest {expected}.",
                hint="The registry or a proxy changed the manifest; check the registry.",
            )
        return ManifestRef(data, _media_type(response, data), digest)

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest a tag or digest reference resolves to, or None when absent."""
        response = self._manifest_request("HEAD", repository, reference, "a check")
        if response is None:
            return None
        digest = response.headers.get("Docker-Content-Digest", "")
        if digest:
            return digest
        manifest = self.get_manifest(repository, reference)
        return manifest.digest if manifest else None

    def put_manifest(self, repository: str, reference: str, manifest: ManifestRef) -> None:
        """Store a manifest by digest or tag (a tag moves to it)."""
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            headers={"Content-Type": manifest.media_type},
            content=manifest.data,
            scopes=(push(repository),),
            what=f"manifest {_ref(repository, reference)}",
        )
        if response.status_code not in (200, 201, 202):
            if response.status_code in (400, 404) and _codes(response) & _BLOB_UNKNOWN:
                named = tuple(dict.fromkeys(_DIGEST.findall(" ".join(str(e.get("detail", "")) for e in _errors(response)))))
                raise BlobUnknown(
                    f"Registry {self.description} refused manifest {_ref(repository, reference)}: it lacks "
                    f"{'blob ' + named[0] if named else 'a blob it names'} (garbage collection may have taken it).",
                    digests=named,
                    hint="Run the same command again: the plan looks for the blobs again and uploads what is missing.",
                    status=response.status_code,
                )
            raise self._error(response, f"a push of manifest {_ref(repository, reference)}", repository)
        claimed = response.headers.get("Docker-Content-Digest", "")
        if claimed.startswith("sha256:") and claimed != manifest.digest:
            raise DigestMismatch(
                f"Registry {self.description} stored manifest {_ref(repository, reference)} as {claimed}, "
                f"not {manifest.digest}.",
                hint="The registry rewrote the manifest; it cannot keep other platforms byte for byte.",
            )

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Delete a manifest by digest (every tag on it goes with it); False when it was not there.

        The registry must allow deletes (distribution: ``storage.delete.enabled``)."""
        scope = Scope("repository", repository, ("delete", "pull", "push"))
        response = self._request(
            "DELETE", f"/v2/{repository}/manifests/{digest}", scopes=(scope,), what=f"manifest {_ref(repository, digest)}"
        )
        if response.status_code == 404:
            return False
        if response.status_code == 405:
            raise RegistryError(
                f"Registry {self.description} does not allow deleting manifests (it refused {_ref(repository, digest)}).",
                hint="Enable deletes in the registry's configuration (distribution: storage.delete.enabled: true).",
                status=405,
            )
        if response.status_code not in (200, 202, 204):
            raise self._error(response, f"a delete of manifest {_ref(repository, digest)}", repository)
        return True

    # -- requests ------------------------------------------------------------------------------

    def list_tags(self, repository: str, limit: int = 10000) -> list[str]:
        """The tags of ``repository`` (following the registry's pages, at most ``limit``); [] when unknown."""
        tags: list[str] = []
        url: str | httpx.URL = f"/v2/{repository}/tags/list"
        params: dict[str, str] | None = {"n": "1000"}
        while len(tags) < limit:
            response = self._request("GET", url, params=params, scopes=(pull(repository),), what=f"the tags of {repository}")
            if response.status_code == 404:
                return tags
            if response.status_code != 200:
                raise self._error(response, f"a listing of the tags of {repository}", repository)
            try:
                found = response.json().get("tags") or []
            except ValueError:
                raise RegistryError(f"{self.description} answered the tags of {repository} with something not JSON.") from None
            tags += [str(t) for t in found]
            link = response.links.get("next", {}).get("url")
            if not link:
                break
            url, params = self._url(link), None
        return tags[:limit]

    def _manifest_request(
        self, method: str, repository: str, reference: str, doing: str
    ) -> httpx.Response | None:
        """GET or HEAD a manifest accepting every known media type: the 200 answer, None on 404."""
        what = f"manifest {_ref(repository, reference)}"
        response = self._request(
            method,
            f"/v2/{repository}/manifests/{reference}",
            headers={"Accept": ", ".join(mt.ACCEPT)},
            scopes=(pull(repository),),
            what=what,
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response, f"{doing} of {what}", repository)
        return response

    def _url(self, path_or_url: str) -> httpx.URL:
        if path_or_url.startswith("/"):
            return httpx.URL(f"{self.description}{path_or_url}")
        return httpx.URL(self.description).join(path_or_url)

    def _request(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        *,
        scopes: tuple[Scope, ...],
        what: str,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        content: bytes | Callable[[], Iterator[bytes]] | None = None,
        follow_redirects: bool = False,
        retry: bool = True,
        max_body: int | None = None,
        read_timeout: float | None = None,
        policy: RetryPolicy | None = None,
    ) -> httpx.Response:
        """Send a request with authentication and retries; transport failures become typed errors.

        ``content`` is bytes or a factory of byte iterators (called once per try). The answer is
        read whole, at most ``max_body`` bytes (default :data:`core.http.bounds.DEFAULT_MAX_BODY`).
        ``read_timeout``: seconds the answer may take to start, when longer than the stall timeout
        (a registry checking a large blob before it answers).
        """
        timeout: httpx.Timeout | None = None
        if read_timeout is not None:
            base = self._http.timeout
            timeout = httpx.Timeout(connect=base.connect, read=max(read_timeout, base.read or 0.0), write=base.write,
                                    pool=base.pool)
        extensions = {MAX_BODY: max_body} if max_body is not None else None
        url = path_or_url if isinstance(path_or_url, httpx.URL) else self._url(path_or_url)
        if params:
            url = url.copy_merge_params(params)
        tries = Retrying(policy or self.retries, functools.partial(self._retrying, what))
        reauthenticated = False
        while True:
            self._stop_if_cancelled()
            request_headers = dict(headers or {})
            if url.host == self._url("/").host:
                request_headers.update(self._auth.headers_for(scopes))
            body: bytes | Iterator[bytes] | None = content() if callable(content) else content
            request = self._http.build_request(
                method, url, headers=request_headers, content=body, extensions=extensions,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            started = time.monotonic()
            try:
                with self._opened():
                    response = self._http.send(request, follow_redirects=follow_redirects)
            except httpx.TransportError as exc:
                self._stop_if_cancelled()
                error = self._transport_error(exc, what)
                if isinstance(error, TLSError) or not retry:
                    raise error from None
                if not tries.again(f"{method} {url.path} failed ({type(exc).__name__})", reason=transport_detail(exc)):
                    raise self._gave_up(error, tries) from None
                continue
            log.debug("%s %s -> %s", method, url.path, response.status_code)
            if content is None:  # a round trip, not a transfer: the average moves a tenth of the way
                self._round_trip += (time.monotonic() - started - self._round_trip) / 10
            if response.status_code == 401:
                self._raise_if_space_missing(response, scopes)
                if not reauthenticated and self._auth.on_unauthorized(response, scopes):
                    reauthenticated = True
                    response.close()
                    continue
                if method == "HEAD":
                    # a HEAD answer has no body; Harbor says "project X not found" only in one
                    probe = self._http.build_request("GET", url, headers=request_headers)
                    self._raise_if_space_missing(self._http.send(probe), scopes)
                raise self._auth.refused(scopes)
            if retry and response.status_code in RETRYABLE_STATUS and tries.again(
                f"{method} {url.path} -> {response.status_code}",
                response.headers.get("Retry-After"),
                reason=f"HTTP {response.status_code}",
            ):
                response.close()
                continue
            return response

    @contextlib.contextmanager
    def _opened(self) -> Iterator[None]:
        """Count a request as open while it is sent and answered."""
        with self._open_lock:
            self._open += 1
        try:
            yield
        finally:
            with self._open_lock:
                self._open -= 1

    def _fetch_token(
        self, realm: str, params: list[tuple[str, str]], basic: tuple[str, str] | None
    ) -> httpx.Response:
        """GET a token from the realm (with retries); never sends the registry's own headers."""
        realm_url = httpx.URL(realm)
        if realm_url.scheme == "http" and self.scheme == "https" and not self.insecure:
            raise TLSError(
                f"Registry {self.description} sends credentials to a plain-HTTP token service {realm_url.host}.",
                hint=Advice("Fix the registry's token realm, or {insecure} to allow it."),
            )
        return send_retrying(
            lambda: self._http.get(realm_url, params=tuple(params), auth=basic, follow_redirects=True),
            self.retries,
            lambda exc: transport_error(exc, "a token request", realm_url.host, "token service"),
            what="a token request",
        )

    # -- uploads -------------------------------------------------------------------------------

    def _start_upload(self, repository: str, digest: str) -> httpx.URL:
        response = self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scopes=(push(repository),),
            what=f"an upload of blob {digest}",
        )
        if response.status_code != 202 or "Location" not in response.headers:
            raise self._error(response, f"an upload of blob {digest} to {repository}", repository)
        return self._url(response.headers["Location"])

    def check_push(self, repository: str) -> None:
        """Prove push rights on ``repository``: open an upload and cancel it (nothing is stored)."""
        response = self._request(
            "POST", f"/v2/{repository}/blobs/uploads/", scopes=(push(repository),), what=f"a push check of {repository}"
        )
        if response.status_code != 202:
            raise self._error(response, f"a push to {repository}", repository)
        self._cancel_upload(repository, response)

    def _cancel_upload(self, repository: str, response: httpx.Response) -> None:
        location = response.headers.get("Location")
        if not location:
            return
        with contextlib.suppress(RegistryError):  # the registry purges abandoned uploads itself
            self._request(
                "DELETE", self._url(location), scopes=(push(repository),), what="an upload cancel", retry=False
            ).close()

    def _put_monolithic(self, repository: str, digest: str, data: bytes, meter: _Meter) -> None:
        for _round in range(_UPLOAD_RESTARTS):
            location = self._start_upload(repository, digest)
            response = self._request(
                "PUT",
                location.copy_merge_params({"digest": digest}),
                headers={"Content-Type": _OCTET, "Content-Length": str(len(data))},
                content=lambda: meter.slices(data, 0),
                scopes=(push(repository),),
                what=f"an upload of blob {digest}",
            )
            if response.status_code in (201, 204):
                meter.reached(len(data))
                return
            if response.status_code in (400, 404) and _codes(response) & _UPLOAD_GONE:
                continue  # the registry dropped the upload after a broken try: start over
            raise self._blob_error(response, repository, digest)
        raise RegistryError(
            f"Registry {self.description} kept dropping the upload of blob {digest} to {repository}.",
            hint="Check the registry's logs and storage, then run the same command again.",
        )

    def _blob_error(self, response: httpx.Response, repository: str, digest: str) -> RegistryError:
        if response.status_code == 400 and "DIGEST_INVALID" in _codes(response):
            return DigestMismatch(
                f"Registry {self.description} found that the uploaded blob for {repository} "
                f"does not match digest {digest}.",
                hint="The package content is corrupt; check its checksum.",
                status=400,
            )
        return self._error(response, f"an upload of blob {digest} to {repository}", repository)

    def _short(self, repository: str, digest: str, size: int, got: int) -> DigestMismatch:
        return DigestMismatch(
            f"Blob {digest} for {repository} ended after {got} of {size} bytes.",
            hint="The package is truncated or corrupt; check its checksum.",
        )

    # -- errors --------------------------------------------------------------------------------

    def _transport_error(self, exc: Exception, what: str) -> RegistryError:
        return transport_error(exc, what, self.description)

    def _gave_up(self, error: RegistryError, tries: Retrying) -> RegistryError:
        """``error`` after ``tries``: it says how long they went on (the ``--retry-for`` budget)."""
        if tries.attempt == 0:
            return error
        return TransportError(
            Advice(
                f"{template_of(error.message).rstrip('.')}, still after {tries.policy.describe()} of retries "
                "({retry_for} to wait longer)."
            ),
            hint=_RESUME_HINT,
        )

    def _raise_if_space_missing(self, response: httpx.Response, scopes: tuple[Scope, ...]) -> None:
        match = _PROJECT_MISSING.search(_error_text(response))
        if match:
            space = match.group(1)
            repository = next((s.name for s in scopes if space_of(s.name) == space), space)
            raise SpaceMissing(
                f"Registry {self.description} has no project '{space}' for repository {repository}.",
                space=space,
                hint=Advice("Create the project, or {create_spaces}."),
            )

    def _error(
        self, response: httpx.Response, what: str, repository: str | None = None, *, policy: RetryPolicy | None = None
    ) -> RegistryError:
        """The error for an answer ``response`` to ``what``; ``policy``: the retries it had (the client's)."""
        status = response.status_code
        if repository is not None and status in (401, 403, 404):
            self._raise_if_space_missing(response, (push(repository),))
        message = _error_text(response)
        detail = f": {message}" if message else ""
        if status == 403:
            return AuthError(
                f"Registry {self.description} denied {what}{detail}.",
                hint="Check that the account may push to this repository.",
                status=status,
            )
        if status == 404:
            return NotFound(
                f"Registry {self.description} found nothing for {what}{detail}.",
                hint="Check the repository and reference.",
                status=status,
            )
        if status in RETRYABLE_STATUS:
            return RegistryError(
                f"Registry {self.description} still answered HTTP {status} to {what} after "
                f"{(policy or self.retries).describe()} of retries{detail}.",
                hint=f"The registry is overloaded or failing. {_RESUME_HINT}",
                status=status,
            )
        return RegistryError(
            f"Registry {self.description} answered HTTP {status} to {what}{detail}.",
            hint="Check the registry's logs.",
            status=status,
        )


class _Meter:
    """Reports bytes sent as increments, never counting a byte twice when an upload rewinds."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._high = 0

    def reached(self, position: int) -> None:
        if position > self._high:
            if self._progress is not None:
                self._progress(position - self._high)
            self._high = position

    def slices(self, data: bytes | memoryview, offset: int) -> Iterator[bytes]:
        """``data`` in slices (``data`` starts at blob ``offset``), reporting progress as they go."""
        view = memoryview(data)
        for start in range(0, len(view), _SLICE):
            piece = view[start : start + _SLICE]
            yield bytes(piece)
            self.reached(offset + start + len(piece))


class _ChunkedUpload:
    """One chunked upload: PATCH chunks, resume from ``Range`` or start over, final PUT.

    The chunk being sent is held in memory, so a break resends it from there even when ``stream``
    cannot seek (the one read); the registry's ``Range`` says where to go on. Breaks in a row are
    retried for the client's ``--retry-for`` budget. Where the upload stands is noted in the
    client's ``uploads`` after every chunk, and a note left by an earlier (killed) run is continued
    when the registry still has that upload.
    """

    def __init__(
        self, client: RegistryClient, repository: str, digest: str, size: int, stream: BinaryIO, meter: _Meter
    ) -> None:
        self.client = client
        self.repository = repository
        self.digest = digest
        self.size = size
        self.stream = stream
        self.meter = meter
        self.origin = _tell(stream)
        self.chunk = min(client.chunk_size, max(MIN_CHUNK, size // CHUNKS_PER_BLOB))
        self.buffer = b""
        self.buffer_start = 0
        self.tries: Retrying | None = None  # the breaks in a row, retried for the budget
        self.recovered = False
        self.what = f"an upload of blob {digest}"

    def run(self) -> None:
        client = self.client
        response = self._send_all()
        if (
            response.status_code == 400
            and "DIGEST_INVALID" in _codes(response)
            and self.recovered
            and self.origin is not None
        ):
            # a broken chunk may have raced with the registry's own write: one clean try more
            log.debug("upload of %s failed its digest check after a recovery; starting over", self.digest)
            self._forget()
            self.stream.seek(self.origin)
            self.buffer, self.buffer_start, self.recovered = b"", 0, False
            response = self._send_all(resume=False)
        if response.status_code not in (201, 204):
            self._forget()
            raise client._blob_error(response, self.repository, self.digest)
        self._forget()
        self.meter.reached(self.size)

    def _send_all(self, *, resume: bool = True) -> httpx.Response:
        """Start (or continue) an upload, send every chunk (recovering from breaks), and complete it."""
        client = self.client
        continued = self._continue_noted() if resume else None
        location, offset = continued or (client._start_upload(self.repository, self.digest), 0)
        while offset < self.size:
            piece = self._piece_at(offset)
            end = offset + len(piece) - 1
            broken: str
            try:
                response = client._request(
                    "PATCH",
                    location,
                    headers={
                        "Content-Type": _OCTET,
                        "Content-Length": str(len(piece)),
                        "Content-Range": f"{offset}-{end}",
                    },
                    content=functools.partial(self.meter.slices, piece, offset),
                    scopes=(push(self.repository),),
                    what=self.what,
                    retry=False,
                )
            except TransportError as exc:
                broken = exc.message
            else:
                if response.status_code == 202:
                    location = client._url(response.headers.get("Location", str(location)))
                    offset = _range_end(response.headers.get("Range"), offset + len(piece) - 1) + 1
                    self.tries = None
                    self._note(location, offset)
                    continue
                if response.status_code not in RETRYABLE_STATUS and not (_codes(response) & _UPLOAD_GONE):
                    raise client._blob_error(response, self.repository, self.digest)
                broken = f"HTTP {response.status_code}"
            location, offset = self._recover(location, offset, broken)
        return client._request(
            "PUT",
            location.copy_merge_params({"digest": self.digest}),
            headers={"Content-Type": _OCTET, "Content-Length": "0"},
            content=b"",
            scopes=(push(self.repository),),
            what=f"the completion of blob {self.digest}",
            read_timeout=self.client.stall_timeout + self.size / _CHECK_RATE,
        )

    def _recover(self, location: httpx.URL, offset: int, why: str) -> tuple[httpx.URL, int]:
        """After a broken chunk: wait, then ask the registry how far it got, or start a new upload."""
        client = self.client
        self.recovered = True
        if self.tries is None:
            self.tries = Retrying(client.retries, functools.partial(client._retrying, self.what))
        reason = why if why.startswith("HTTP ") else "connection broke"
        if not self.tries.again(f"{self.what} broke ({why})", reason=reason):
            raise TransportError(
                f"The upload of blob {self.digest} to {self.repository} on {client.description} "
                f"kept breaking for {client.retries.describe()} ({why}).",
                hint=_RESUME_HINT,
            )
        found = self._status(location)
        if found is not None:
            log.debug("upload of %s resumes at %d after: %s", self.digest, found[1], why)
            return found
        log.debug("upload of %s starts over after: %s", self.digest, why)
        self._forget()
        return client._start_upload(self.repository, self.digest), 0

    def _status(self, location: httpx.URL) -> tuple[httpx.URL, int] | None:
        """Where the registry has the upload at ``location`` (its URL now and the next offset), or
        None when it no longer has it."""
        client = self.client
        status = client._request("GET", location, scopes=(push(self.repository),), what=f"the status of upload {self.digest}")
        if status.status_code != 204 or "Range" not in status.headers:
            return None
        # distribution says "0-0" for an empty upload too: resend that byte rather than skip it
        value = status.headers["Range"].strip()
        offset = 0 if value in ("0-0", "bytes=0-0") else _range_end(value, -1) + 1
        if offset < self.buffer_start and self.origin is None:
            return None  # behind what a one-way stream still holds
        return client._url(status.headers.get("Location", str(location))), min(offset, self.size)

    def _continue_noted(self) -> tuple[httpx.URL, int] | None:
        """The upload an earlier run left for this blob, where the registry has it; None to start anew."""
        memo = self.client.uploads
        noted = memo.recall(self.client.host, self.repository, self.digest) if memo is not None else None
        if noted is None:
            return None
        try:
            found = self._status(self.client._url(noted.location))
        except RegistryError:
            found = None
        if found is None:
            self._forget()
            return None
        log.debug("upload of %s continues an earlier one at %d", self.digest, found[1])
        self.meter.reached(found[1])  # the registry has them
        return found

    def _note(self, location: httpx.URL, offset: int) -> None:
        memo = self.client.uploads
        if memo is not None:
            memo.remember(self.client.host, self.repository, self.digest, OpenUpload(str(location), offset))

    def _forget(self) -> None:
        memo = self.client.uploads
        if memo is not None:
            memo.forget(self.client.host, self.repository, self.digest)

    def _piece_at(self, offset: int) -> bytes:
        """The bytes from ``offset`` to the end of the chunk that holds it."""
        buffered_end = self.buffer_start + len(self.buffer)
        if not (self.buffer_start <= offset < buffered_end):
            if offset != buffered_end:
                if self.origin is not None:
                    self.stream.seek(self.origin + offset)
                elif offset > buffered_end:  # continuing an earlier upload: read past what it has
                    skipped = _skip(self.stream, offset - buffered_end)
                    if skipped != offset - buffered_end:
                        raise self.client._short(self.repository, self.digest, self.size, buffered_end + skipped)
                else:
                    raise TransportError(
                        f"The upload of blob {self.digest} to {self.repository} on "
                        f"{self.client.description} broke and cannot resume from a one-way stream.",
                        hint=_RESUME_HINT,
                    )
            want = min(self.chunk, self.size - offset)
            self.buffer = _read_exact(self.stream, want)
            self.buffer_start = offset
            if len(self.buffer) != want:
                raise self.client._short(self.repository, self.digest, self.size, offset + len(self.buffer))
        return self.buffer[offset - self.buffer_start :]


def _skip(stream: BinaryIO, count: int) -> int:
    """Read and drop ``count`` bytes of a one-way stream; how many there were."""
    done = 0
    while done < count:
        chunk = stream.read(min(count - done, 4 << 20))
        if not chunk:
            break
        done += len(chunk)
    return done


def _ref(repository: str, reference: str) -> str:
    """``repo:tag`` or ``repo@sha256:...``, as people write references."""
    return f"{repository}{'@' if ':' in reference else ':'}{reference}"


def _errors(response: httpx.Response) -> list[dict[str, object]]:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError, httpx.ResponseNotRead):
        return []
    items = body.get("errors") if isinstance(body, dict) else None
    return [e for e in items if isinstance(e, dict)] if isinstance(items, list) else []


def _codes(response: httpx.Response) -> set[str]:
    return {str(e.get("code", "")) for e in _errors(response)}


def _error_text(response: httpx.Response) -> str:
    """The registry's own error messages, shortened for one sentence."""
    items = _errors(response)
    if items:
        text = "; ".join(str(e.get("message") or e.get("code") or "") for e in items)
    else:
        try:
            text = response.text if response.headers.get("content-type", "").startswith("text/") else ""
        except (httpx.ResponseNotRead, UnicodeDecodeError):
            text = ""
    text = " ".join(text.split()).rstrip(".")
    return text[:200]


def _media_type(response: httpx.Response, data: bytes) -> str:
    header = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
    if header and header not in ("application/json", "text/plain", _OCTET):
        return header
    try:
        declared = load_document(data, "the manifest").get("mediaType")
    except (ValueError, AttributeError):
        declared = None
    return str(declared) if declared else (header or mt.OCI_MANIFEST)


def _range_end(value: str | None, default: int) -> int:
    if not value:
        return default
    match = re.match(r"^\s*(?:bytes=)?(\d+)-(\d+)\s*$", value)
    return int(match.group(2)) if match else default


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(remaining, 4 << 20))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _tell(stream: BinaryIO) -> int | None:
    try:
        if not stream.seekable():
            return None
        return stream.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None

