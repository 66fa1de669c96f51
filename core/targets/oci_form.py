"""The OCI form of a Docker manifest or manifest list, for OCI image layouts.

containers/image (skopeo, podman, buildah) only resolves ``oci:PATH:REF`` to an ``index.json``
entry whose media type is an OCI manifest or OCI index; a Docker v2s2 manifest or manifest list
under a ref name is "not found". So a layout tag gets the OCI form of Docker content: the
same document with OCI media types (config, layers, children), which is what ``skopeo copy``
itself writes into a layout. The conversion is deterministic: the same Docker bytes always
give the same OCI bytes. Layers and configs are unchanged (Docker configs are valid OCI
configs), so no blob is rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.oci import mediatypes as mt
from core.oci.manifest import ManifestRef, canonical_json

DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"

#: Docker media types of descriptors inside a manifest -> their OCI equivalents
DESCRIPTOR_TYPES = {
    mt.DOCKER_CONFIG: mt.OCI_CONFIG,
    mt.DOCKER_LAYER_GZIP: mt.OCI_LAYER_GZIP,
    mt.DOCKER_LAYER: mt.OCI_LAYER,
    DOCKER_FOREIGN_LAYER: OCI_NONDISTRIBUTABLE_GZIP,
}

#: reads a manifest blob by digest
ReadBlob = Callable[[str], bytes]


def needs_oci_form(media_type: str) -> bool:
    """True for the Docker media types containers/image will not resolve by ref name."""
    return media_type in (mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST)


def _convert_descriptor(desc: Any) -> Any:
    if isinstance(desc, dict) and desc.get("mediaType") in DESCRIPTOR_TYPES:
        return {**desc, "mediaType": DESCRIPTOR_TYPES[desc["mediaType"]]}
    return desc


def _with_media_type(doc: dict[str, Any], media_type: str, **replaced: Any) -> dict[str, Any]:
    """``doc`` with ``mediaType`` (and other fields) replaced, key order kept."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "mediaType":
            out[key] = media_type
        else:
            out[key] = replaced.get(key, value)
    if "mediaType" not in out:
        out = {"schemaVersion": doc.get("schemaVersion", 2), "mediaType": media_type, **out}
    return out


def oci_manifest(manifest: ManifestRef) -> ManifestRef:
    """The OCI image manifest form of a Docker v2s2 manifest."""
    doc = manifest.parsed()
    converted = _with_media_type(
        doc,
        mt.OCI_MANIFEST,
        config=_convert_descriptor(doc.get("config")),
        layers=[_convert_descriptor(layer) for layer in doc.get("layers", [])],
    )
    return ManifestRef(canonical_json(converted), mt.OCI_MANIFEST)


def oci_form(manifest: ManifestRef, read_blob: ReadBlob) -> tuple[ManifestRef, list[ManifestRef]]:
    """The OCI form of ``manifest`` and the converted child manifests it refers to.

    Docker manifest -> OCI manifest. Docker manifest list -> OCI index whose Docker-manifest
    entries point at their OCI forms (digest, size, media type replaced; platform,
    annotations and every other entry kept). Anything else is returned as it is.
    """
    if manifest.media_type == mt.DOCKER_MANIFEST:
        return oci_manifest(manifest), []
    if manifest.media_type != mt.DOCKER_MANIFEST_LIST:
        return manifest, []
    doc = manifest.parsed()
    children: list[ManifestRef] = []
    entries = []
    for entry in doc.get("manifests", []):
        if isinstance(entry, dict) and entry.get("mediaType") == mt.DOCKER_MANIFEST:
            child = oci_manifest(ManifestRef(read_blob(str(entry["digest"])), mt.DOCKER_MANIFEST))
            children.append(child)
            entry = {
                **entry,
                "mediaType": child.media_type,
                "digest": child.digest,
                "size": child.size,
            }
        entries.append(entry)
    converted = _with_media_type(doc, mt.OCI_INDEX, manifests=entries)
    return ManifestRef(canonical_json(converted), mt.OCI_INDEX), children
