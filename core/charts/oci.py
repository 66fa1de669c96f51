"""Charts as OCI artifacts (Helm 3.8+), as ``helm push`` writes them: config = Chart.yaml as Helm
reads it, in Go's JSON (:mod:`core.charts.helmmeta`), one chart-content layer, and helm's
manifest annotations (title, version, description, ... and the chart's own).

Repository ``<prefix>/<chart source repo>/<chart>``, tag = version with ``+`` written ``_``.
Works on any :class:`core.targets.base.Target`, so registries and OCI layouts alike.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from core.charts.helmmeta import helm_annotations, helm_config, readable_config
from core.charts.protocol import ChartDestination, DestinationSpec, decide
from core.charts.repack import unpack
from core.charts.validate import chart_meta
from core.errors import ArchfuseError, ChartError, RegistryError, UsageError
from core.kinds import ChartAction
from core.oci import mediatypes as mt
from core.oci.digest import sha256_digest
from core.oci.manifest import Descriptor, ManifestRef, canonical_json
from core.oci.refs import is_repository_path, join_path
from core.safeload import DocumentError, load_json
from core.targets.base import Target


def oci_tag(version: str) -> str:
    """A chart version as an OCI tag (``+`` is not allowed in tags)."""
    return version.replace("+", "_")


def chart_metadata(tgz: bytes, *, what: str) -> dict[str, Any]:
    """The chart archive's Chart.yaml as Helm reads it (ChartError when Helm could not)."""
    _, files = unpack(tgz, what=what)
    return chart_meta(files.get("Chart.yaml"), what=what).metadata


def chart_manifest(config: bytes, tgz: bytes, annotations: dict[str, str] | None = None) -> ManifestRef:
    """The OCI image manifest of a Helm chart artifact, with the annotations ``helm push`` writes."""
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": Descriptor(mt.HELM_CONFIG, len(config), sha256_digest(config)).to_json(),
        "layers": [Descriptor(mt.HELM_CHART, len(tgz), sha256_digest(tgz)).to_json()],
    }
    if annotations:
        doc["annotations"] = annotations
    return ManifestRef(canonical_json(doc), mt.OCI_MANIFEST)


#: tries of a chart's manifest push that the registry refuses for a blob it does not know yet
MANIFEST_ATTEMPTS = 3


class OciChartDestination:
    """Helm OCI charts in a registry or OCI layout target."""

    #: how a choice list names this kind
    TITLE = "OCI (in the registry)"

    def __init__(self, target: Target, *, prefix: str = "", owns_target: bool = False) -> None:
        self.target = target
        self.prefix = prefix
        #: True when the target is the destination's own (a separate chart registry), closed with it
        self.owns_target = owns_target
        #: told ``(repository, tag, digest before or None, digest after)`` right before a chart tag moves
        self.on_tag_moving: Callable[[str, str, str | None, str], None] | None = None

    @classmethod
    def build(cls, spec: DestinationSpec) -> ChartDestination:
        """OCI charts in the spec's image target (a registry or an OCI layout)."""
        if spec.target is None:
            raise UsageError("OCI charts need a registry or OCI layout target.")
        return cls(spec.target, prefix=spec.prefix, owns_target=spec.owns_target)

    def describe(self) -> str:
        return f"OCI charts in {self.target.description}"

    def ping(self) -> None:
        self.target.ping()

    def close(self) -> None:
        """Close the target only when it is the destination's own; the image target's owner closes that one."""
        if self.owns_target:
            self.target.close()

    def repository(self, name: str, repo: str = "") -> str:
        """``<prefix>/<repo>/<name>``; ChartError when that is no valid repository name."""
        path = join_path(self.prefix, join_path(repo, name))
        if not is_repository_path(path):
            raise ChartError(
                f"Chart {name} from the chart source directory {repo!r} would go to repository {path!r}, "
                "which is not a valid OCI repository name (lowercase letters, digits and . _ - only); "
                "rename the directory in the package or choose another chart destination."
            )
        return path

    def location(self, name: str, version: str, *, repo: str = "") -> str:
        return f"{self.target.host}/{self.repository(name, repo)}:{oci_tag(version)}"

    def existing(self, name: str, version: str, *, repo: str = "") -> str | None:
        """The chart layer's digest; None also when helm could not read the chart there (it is written again)."""
        repository = self.repository(name, repo)
        manifest = self.target.get_manifest(repository, oci_tag(version))
        if manifest is None:
            return None
        try:
            doc = manifest.parsed()
        except ValueError:
            return manifest.digest
        config = doc.get("config", {})
        if config.get("mediaType") != mt.HELM_CONFIG:
            return manifest.digest  # something that is not a chart holds the tag
        if not self._readable(repository, config.get("digest")):
            return None  # a chart helm cannot pull (a config with numbers for text): written again
        for layer in doc.get("layers") or []:
            if layer.get("mediaType") == mt.HELM_CHART and isinstance(layer.get("digest"), str):
                return str(layer["digest"])
        return manifest.digest

    def _readable(self, repository: str, digest: object) -> bool:
        if not isinstance(digest, str):
            return False
        try:
            return readable_config(load_json(self.target.get_blob(repository, digest, max_size=1 << 20)))
        except (DocumentError, ArchfuseError):
            return False

    def push(self, name: str, version: str, tgz: bytes, *, repo: str = "", force: bool = False) -> ChartAction:
        action = decide(self.existing(name, version, repo=repo), sha256_digest(tgz), force)
        if action in (ChartAction.UNCHANGED, ChartAction.CONFLICT):
            return action
        repository = self.repository(name, repo)
        metadata = chart_metadata(tgz, what=f"chart {name}-{version}.tgz")
        config = helm_config(metadata)
        manifest = chart_manifest(config, tgz, helm_annotations(metadata))
        if self.on_tag_moving is not None:  # the journal records the move first, so rollback can undo it
            current = self.target.get_manifest(repository, oci_tag(version))
            self.on_tag_moving(repository, oci_tag(version), current.digest if current else None, manifest.digest)
        for attempt in range(MANIFEST_ATTEMPTS):
            self._put_blobs(repository, (config, tgz), again=attempt > 0)
            try:
                self.target.put_manifest(repository, oci_tag(version), manifest)
                return action
            except RegistryError as err:
                # 400: a blob the manifest names is unknown to the registry — seen while another
                # writer pushes the same chart at the same moment; its blobs are sent again
                if err.status != 400 or attempt == MANIFEST_ATTEMPTS - 1:
                    raise
        return action

    def _put_blobs(self, repository: str, blobs: tuple[bytes, ...], *, again: bool) -> None:
        """Upload the chart's blobs the repository lacks (all of them ``again``)."""
        for blob in blobs:
            digest = sha256_digest(blob)
            if again or not self.target.blob_exists(repository, digest):
                self.target.put_blob(repository, digest, len(blob), io.BytesIO(blob))
