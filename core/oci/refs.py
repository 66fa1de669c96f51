"""Image references and where they land.

One function, :func:`destination`, computes where an image goes; the image import and the
chart relocation both use it, so a chart always points where its images were pushed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_HOST = "docker.io"
# the distribution reference grammar (github.com/distribution/reference), ASCII only
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")
_DOMAIN_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_HOST = re.compile(rf"^(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}$")
NAME_LIMIT = 255


@dataclass(frozen=True)
class ImageRef:
    host: str
    path: str  # repository path without host, e.g. metrics-server/metrics-server
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        out = f"{self.host}/{self.path}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_ref(ref: str) -> ImageRef:
    """Parse an image reference the way docker does (``nginx`` -> ``docker.io/library/nginx:latest``).

    ValueError for anything outside the distribution grammar (ASCII only), so a reference that
    no registry would take is refused before anything is written.
    """
    text = ref.strip()
    if not text or not text.isascii() or any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError(f"not an image reference: {ref!r}")
    digest = ""
    if "@" in text:
        text, digest = text.split("@", 1)
    name, tag = text, ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = DEFAULT_HOST, name
    if host == DEFAULT_HOST and "/" not in path:
        path = f"library/{path}"
    if (
        not is_repository_path(path)
        or not _HOST.match(host)
        or len(name) > NAME_LIMIT
        or (tag and not _TAG.match(tag))
        or (digest and not _DIGEST.match(digest))
    ):
        raise ValueError(f"not an image reference: {ref!r}")
    if not tag and not digest:
        tag = "latest"
    return ImageRef(host, path, tag, digest)


def is_repository_path(path: str) -> bool:
    """True when every ``/``-separated part is a valid repository path component (lowercase, digits, ``._-``)."""
    return all(_PATH_COMPONENT.match(part) for part in path.split("/"))


def join_path(prefix: str, path: str) -> str:
    """``prefix/path`` with stray slashes removed."""
    parts = [p for p in prefix.strip("/").split("/") if p] + [p for p in path.split("/") if p]
    return "/".join(parts)


def destination(ref: str, prefix: str = "") -> ImageRef:
    """Where an image lands in the target: original host dropped, ``prefix`` prepended, tag kept.

    The returned ImageRef's ``host`` is empty: the target supplies it.
    """
    parsed = parse_ref(ref)
    return ImageRef("", join_path(prefix, parsed.path), parsed.tag, parsed.digest)


def space_of(repository: str) -> str:
    """The registry space (Harbor project) of a repository: its first path segment."""
    return repository.split("/", 1)[0]
