"""Content digests."""

from __future__ import annotations

import hashlib
import re

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def sha256_digest(data: bytes) -> str:
    """The ``sha256:<hex>`` digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(value: str) -> bool:
    """True when ``value`` is a well-formed sha256 digest."""
    return bool(_DIGEST.match(value))


def hex_of(digest: str) -> str:
    """The hex part of a ``sha256:<hex>`` digest."""
    return digest.split(":", 1)[1]
