"""Platforms: ``os/architecture[/variant]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Archive-name arch -> the (architecture, variant) image configs carry.
ARCH_ALIASES = {"x86_64": "amd64", "aarch64": "arm64", "armhf": "arm"}
# The variant an architecture means when an image or index entry names none.
DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``linux/arm64`` or ``linux/arm/v7``."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"not a platform: {text!r}")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Platform:
        """The platform an image config declares."""
        return cls(
            str(config.get("os") or "linux"),
            str(config.get("architecture") or ""),
            str(config.get("variant") or ""),
        )

    @classmethod
    def from_descriptor(cls, platform: dict[str, Any] | None) -> Platform | None:
        """The platform of an index entry, or None when it has none."""
        if not platform:
            return None
        return cls.from_config(platform)

    def matches(self, other: Platform) -> bool:
        """Same platform once normalised (see :meth:`normalized`)."""
        return self.normalized() == other.normalized()

    def normalized(self) -> Platform:
        """The variant filled in as containerd does: arm64 without one is ``v8``, arm is ``v7``."""
        default = DEFAULT_VARIANTS.get(self.architecture)
        if default and not self.variant:
            return Platform(self.os, self.architecture, default)
        return self

    def to_descriptor(self) -> dict[str, str]:
        """The ``platform`` object of an index entry (go-containerregistry's field order)."""
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base


def normalize_arch(arch: str) -> str:
    """The Go architecture name for an archive-name arch (``x86_64`` -> ``amd64``)."""
    return ARCH_ALIASES.get(arch, arch)
