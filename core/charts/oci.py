"""Charts as OCI artifacts (Helm 3.8+): config = Chart.yaml as JSON, one chart-content layer.

Repository ``<prefix>/<chart source repo>/<chart>``, tag = version with ``+`` written ``_``.
Works on any :class:`core.targets.base.Target`, so registries and OCI layouts alike.
"""

from __future__ import annotations

import io
import json
from typing import Any

import yaml

from core.charts.protocol import decide
from core.charts.repack import unpack
from core.errors import ChartError
from core.kinds import ChartAction
from core.oci import mediatypes as mt
from core.oci.digest import sha256_digest
from core.oci.manifest import Descriptor, ManifestRef, canonical_json
from core.oci.refs import join_path
from core.targets.base import Target

# Helm's chart.Metadata field order; fields it does not know follow in file order.
_HELM_FIELDS = (
    "name", "home", "sources", "version", "description", "keywords", "maintainers", "icon", "apiVersion",
    "condition", "tags", "appVersion", "deprecated", "annotations", "kubeVersion", "dependencies", "type",
)  # fmt: skip


def oci_tag(version: str) -> str:
    """A chart version as an OCI tag (``+`` is not allowed in tags)."""
    return version.replace("+", "_")


def helm_config(tgz: bytes, *, what: str) -> bytes:
    """The Helm config blob for a chart archive: its Chart.yaml as compact JSON."""
    _, files = unpack(tgz, what=what)
    try:
        meta = yaml.safe_load(files.get("Chart.yaml", b""))
    except yaml.YAMLError as err:
        raise ChartError(f"Chart.yaml in {what} is not valid YAML.") from err
    if not isinstance(meta, dict):
        raise ChartError(f"{what} has no usable Chart.yaml.")
    ordered: dict[str, Any] = {k: meta[k] for k in _HELM_FIELDS if meta.get(k) not in (None, "", [], {})}
    for key, value in meta.items():
        if key not in ordered and key not in _HELM_FIELDS:
            ordered[key] = value
    if "version" in ordered:
        ordered["version"] = str(ordered["version"])
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def chart_manifest(config: bytes, tgz: bytes) -> ManifestRef:
    """The OCI image manifest of a Helm chart artifact."""
    data = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": Descriptor(mt.HELM_CONFIG, len(config), sha256_digest(config)).to_json(),
            "layers": [Descriptor(mt.HELM_CHART, len(tgz), sha256_digest(tgz)).to_json()],
        }
    )
    return ManifestRef(data, mt.OCI_MANIFEST)


class OciChartDestination:
    """Helm OCI charts in a registry or OCI layout target."""

    #: how a choice list names this kind
    TITLE = "OCI (in the registry)"

    def __init__(self, target: Target, *, prefix: str = "") -> None:
        self.target = target
        self.prefix = prefix

    def describe(self) -> str:
        return f"OCI charts in {self.target.description}"

    def ping(self) -> None:
        self.target.ping()

    def repository(self, name: str, repo: str = "") -> str:
        """``<prefix>/<repo>/<name>``."""
        return join_path(self.prefix, join_path(repo, name))

    def location(self, name: str, version: str, *, repo: str = "") -> str:
        return f"{self.target.host}/{self.repository(name, repo)}:{oci_tag(version)}"

    def existing(self, name: str, version: str, *, repo: str = "") -> str | None:
        manifest = self.target.get_manifest(self.repository(name, repo), oci_tag(version))
        if manifest is None:
            return None
        try:
            doc = manifest.parsed()
        except ValueError:
            return manifest.digest
        if doc.get("config", {}).get("mediaType") != mt.HELM_CONFIG:
            return manifest.digest  # something that is not a chart holds the tag
        for layer in doc.get("layers") or []:
            if layer.get("mediaType") == mt.HELM_CHART and isinstance(layer.get("digest"), str):
                return str(layer["digest"])
        return manifest.digest

    def push(self, name: str, version: str, tgz: bytes, *, repo: str = "", force: bool = False) -> str:
        action = decide(self.existing(name, version, repo=repo), sha256_digest(tgz), force)
        if action in (ChartAction.UNCHANGED, ChartAction.CONFLICT):
            return action
        repository = self.repository(name, repo)
        config = helm_config(tgz, what=f"chart {name}-{version}.tgz")
        for blob in (config, tgz):
            digest = sha256_digest(blob)
            if not self.target.blob_exists(repository, digest):
                self.target.put_blob(repository, digest, len(blob), io.BytesIO(blob))
        self.target.put_manifest(repository, oci_tag(version), chart_manifest(config, tgz))
        return action
