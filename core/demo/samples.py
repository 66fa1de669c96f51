"""Sample packages: realistic, deterministic addon offline packages for the demo, tests and benchmarks.

Packages broken on purpose, for the tests only, are written by tests/fixtures/broken.py.

A package holds charts from ``addon`` and ``community``; across the demo versions some chart
versions and image tags change and some stay. Layers are real tars (gzip'd where the flavour
says so, fixed mtimes, gzip mtime 0), distinct per architecture; the same image tag gives the
same bytes in every version. ``payload`` adds pseudo-random (incompressible) bytes to the app
layers, streamed and never held in memory, so multi-GB packages for benchmarks are quick to write.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from isal import igzip

from core.oci import mediatypes as mt
from core.package.checksum import sidecar_path, sidecar_text
from core.package.tarwrite import Content, Entry, HashingSink, Sink, tar_bytes, tar_size, write_tar

FLAVOURS = ("ggcr", "docker-legacy", "docker-oci")
ARCHES = ("amd64", "arm64")
DEMO_VERSIONS = ("v0.11.0", "v0.12.0")
GZIP_LEVEL = 1
_SPOOL_OVER = 8 << 20
_ROOT = "addon-offline"


@dataclass(frozen=True)
class SampleChart:
    repo: str
    name: str
    version: str
    app_version: str
    hints: tuple[str, ...]
    values: str  # values.yaml text, with comments
    images: tuple[str, ...]  # references the hints resolve to
    subchart: bool = False


def _catalog(version: str) -> list[SampleChart]:
    """The charts of a package version: v0.11.0 is the older set, every other version the newer."""
    old = version == DEMO_VERSIONS[0]
    ms_chart = "3.8.2" if old else "3.8.3"
    ing_chart, ing_tag = ("4.7.1", "v1.8.1") if old else ("4.8.0", "v1.9.0")
    cm_chart = "v1.11.0" if old else "v1.12.0"
    return [
        SampleChart(
            "addon", "metrics-server", ms_chart, "0.6.2",
            ("{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}",),
            "# Default values for metrics-server.\n"
            "image:\n"
            "  # the original registry; archfuse points it at yours on import\n"
            "  registry: docker.m.daocloud.io\n"
            "  repository: metrics-server/metrics-server\n"
            "  tag: v0.6.2  # same tag in every version\n"
            "  pullPolicy: IfNotPresent\n"
            f"replicas: {1 if old else 2}\n",
            ("docker.m.daocloud.io/metrics-server/metrics-server:v0.6.2",),
        ),
        SampleChart(
            "addon", "ingress-nginx", ing_chart, ing_tag.lstrip("v"),
            (
                "{{ .controller.image.registry }}/{{ .controller.image.image }}:{{ .controller.image.tag }}",
                "{{ .webhook.image.registry }}/{{ .webhook.image.image }}:{{ .webhook.image.tag }}",
            ),
            "## ingress-nginx\n"
            "controller:\n"
            "  image:\n"
            "    registry: registry.k8s.io\n"
            "    image: ingress-nginx/controller\n"
            f"    tag: {ing_tag}\n"
            "  replicaCount: 1\n"
            "webhook:\n"
            "  # patches the admission webhook certificates\n"
            "  image:\n"
            "    registry: registry.k8s.io\n"
            "    image: ingress-nginx/kube-webhook-certgen\n"
            "    tag: v20230407\n",
            (f"registry.k8s.io/ingress-nginx/controller:{ing_tag}",
             "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v20230407"),
        ),
        SampleChart(
            "community", "redis", "17.11.3", "7.0.11",
            ("{{ .image }}", "{{ .metrics.image }}"),
            "# Redis, single image keys\n"
            "image: docker.io/bitnami/redis:7.0.11\n"
            "architecture: standalone\n"
            "metrics:\n"
            "  enabled: false  # exporter sidecar\n"
            "  image: docker.io/bitnami/redis-exporter:1.50.0\n",
            ("docker.io/bitnami/redis:7.0.11", "docker.io/bitnami/redis-exporter:1.50.0"),
            subchart=True,
        ),
        SampleChart(
            "community", "cert-manager", cm_chart, cm_chart,
            ("{{ .image.registry }}/{{ .image.repository }}",),
            "# the tag comes from the chart's appVersion\n"
            "image:\n"
            "  registry: quay.io\n"
            "  repository: jetstack/cert-manager-controller\n"
            "installCRDs: true\n",
            (f"quay.io/jetstack/cert-manager-controller:{cm_chart}",),
        ),
    ]  # fmt: skip


def sample_charts(version: str) -> list[SampleChart]:
    """The charts :func:`write_sample_package` writes for ``version``."""
    return _catalog(version)


BULK_PER_CHART = 10


def _keyed_chart(repo: str, name: str, refs: list[str]) -> SampleChart:
    """A chart whose values.yaml names each image under its own key (``app0000: REF``)."""
    keys = [f"app{n:04d}" for n in range(len(refs))]
    return SampleChart(
        repo, name, "1.0.0", "1.0.0",
        tuple(f"{{{{ .{k} }}}}" for k in keys),
        "# generated: one image per key\n" + "".join(f"{k}: {ref}\n" for k, ref in zip(keys, refs)),
        tuple(refs),
    )  # fmt: skip


def bulk_charts(count: int) -> list[SampleChart]:
    """``count`` extra small images, ten per ``community`` chart ``bulk-NN`` (plan benchmarks)."""
    return [
        _keyed_chart(
            "community",
            f"bulk-{first // BULK_PER_CHART:02d}",
            [f"docker.io/bulk/app-{n:04d}:1.0.0" for n in range(first, min(count, first + BULK_PER_CHART))],
        )
        for first in range(0, count, BULK_PER_CHART)
    ]


VENDOR_CHARTS = 57
VENDOR_IMAGES = 300
_VENDOR_BASES = 10  # base images (2-4 layers each) the vendor's images are built on
_VENDOR_MIN_LAYER = 2 << 10
_VENDOR_MAX_LAYER = 512 << 20
_VENDOR_LARGE_SHARE = 0.4  # of the bytes, in the few largest layers


@dataclass(frozen=True)
class VendorShape:
    """The layout of a package shaped like the vendor's: per image 5-15 layers, base layers shared.

    ``layers`` maps each image reference to its layers as (key, payload bytes): the same key is
    the same layer. Sizes go from a few KB to (for large totals) a few hundred MB: most layers
    small (a skewed log-uniform spread), about 1 % of them large, holding 40 % of ``total``.
    """

    charts: list[SampleChart]
    layers: dict[str, list[tuple[str, int]]]


def vendor_shape(total: int, images: int = VENDOR_IMAGES, charts: int = VENDOR_CHARTS, seed: str = "vendor") -> VendorShape:
    """The vendor-shaped layout of ``images`` images in ``charts`` charts, about ``total`` payload bytes."""
    rng = random.Random(f"{seed}|{total}|{images}|{charts}")
    bases = [[f"base{b}/{j}" for j in range(rng.randint(2, 4))] for b in range(_VENDOR_BASES)]
    refs = [f"docker.io/vendor/svc-{n:04d}:1.{n % 7}.{n % 3}" for n in range(images)]
    layout: dict[str, list[str]] = {}
    for ref in refs:
        stack = bases[rng.randrange(len(bases))]
        own = max(1, rng.randint(5, 15) - len(stack))
        layout[ref] = stack + [f"{ref}/{j}" for j in range(own)]
    keys = list(dict.fromkeys(k for stack in layout.values() for k in stack))
    sizes = _spread_sizes(rng, len(keys), total)
    size_of = dict(zip(keys, sizes))
    per_chart = [refs[i * images // charts : (i + 1) * images // charts] for i in range(charts)]
    out = [
        _keyed_chart("addon" if i < charts // 2 else "community", f"svc-{i:02d}", chunk)
        for i, chunk in enumerate(per_chart)
        if chunk
    ]
    return VendorShape(out, {ref: [(k, size_of[k]) for k in stack] for ref, stack in layout.items()})


def _spread_sizes(rng: random.Random, count: int, total: int) -> list[int]:
    """``count`` layer sizes summing to about ``total``: a few large ones, the rest a skewed log-uniform spread."""
    large = set(rng.sample(range(count), max(3, count // 100))) if count > 3 else set()
    weights = [rng.uniform(0.5, 1.5) for _ in large]
    big = iter(int(w / sum(weights) * total * _VENDOR_LARGE_SHARE) for w in weights)
    quantiles = [rng.random() ** 1.5 for _ in range(count - len(large))]
    budget = total * (1 - _VENDOR_LARGE_SHARE) if large else total

    def small(top: float) -> list[int]:
        return [int(_VENDOR_MIN_LAYER * (top / _VENDOR_MIN_LAYER) ** q) for q in quantiles]

    lo, hi = float(_VENDOR_MIN_LAYER), float(_VENDOR_MAX_LAYER)
    for _ in range(60):  # bisect the largest small layer so the small ones fill their budget
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if sum(small(mid)) < budget else (lo, mid)
    rest = iter(small(lo))
    return [next(big) if i in large else next(rest) for i in range(count)]


# --- layers ------------------------------------------------------------------------------------


class _Null:
    def write(self, data: bytes, /) -> int:
        return len(data)


def _random_stream(seed: str, size: int) -> Callable[[Sink], None]:
    def produce(out: Sink) -> None:
        block = memoryview(random.Random(seed).randbytes(min(size, 1 << 20)))
        left = size
        while left:
            n = min(left, len(block))
            out.write(block[:n] if n < len(block) else block)
            left -= n

    return produce


@dataclass
class _Layer:
    diff: Content  # the uncompressed tar
    diff_id: str
    _spool: Path
    _gz: tuple[Content, str] | None = None

    def gz(self) -> tuple[Content, str]:
        """The gzip'd layer and its digest (computed once; spooled to disk when large)."""
        if self._gz is None:
            if self.diff.size <= _SPOOL_OVER:
                raw = tar_bytes_of(self.diff)
                data = igzip.compress(raw, GZIP_LEVEL, mtime=0)
                self._gz = (Content.of(data), "sha256:" + hashlib.sha256(data).hexdigest())
            else:
                h = hashlib.sha256()
                fd, name = tempfile.mkstemp(dir=self._spool, suffix=".tar.gz")
                with os.fdopen(fd, "wb") as f:
                    sink = HashingSink(f, [h])
                    with igzip.IGzipFile(fileobj=sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
                        self.diff.write_to(gz)
                self._gz = (Content(sink.count, path=Path(name)), "sha256:" + h.hexdigest())
        return self._gz


def tar_bytes_of(content: Content) -> bytes:
    parts: list[bytes] = []

    class _Buf:
        def write(self, data: bytes, /) -> int:
            parts.append(bytes(data))
            return len(data)

    content.write_to(_Buf())
    return b"".join(parts)


def _make_layer(key: str, arch: str, files: dict[str, bytes], payload: int, spool: Path) -> _Layer:
    entries: list[Entry] = []
    dirs: set[str] = set()
    names = sorted(files)
    if payload:
        names.append(f"opt/{key.replace('/', '_').replace(':', '_')}/payload.bin")
    for name in names:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i]) + "/"
            if d not in dirs:
                dirs.add(d)
                entries.append(Entry(d, "dir"))
        if name in files:
            entries.append(Entry(name, content=Content.of(files[name])))
        else:
            entries.append(
                Entry(name, content=Content(payload, produce=_random_stream(f"{key}|{arch}", payload)))
            )
    size = tar_size(entries)
    diff = Content(size, produce=lambda out: write_tar(entries, out))
    if size <= _SPOOL_OVER:
        diff = Content.of(tar_bytes(entries))
        diff_id = "sha256:" + hashlib.sha256(diff.data or b"").hexdigest()
    else:
        h = hashlib.sha256()
        diff.write_to(HashingSink(_Null(), [h]))
        diff_id = "sha256:" + h.hexdigest()
    return _Layer(diff, diff_id, spool)


@dataclass
class _Image:
    ref: str
    layers: list[_Layer]
    config: bytes = b""
    config_digest: str = ""
    extra_tags: int = 0  # more RepoTags of the same image: ``<ref>-t0000``, ``<ref>-t0001``, ...

    @property
    def repo_tags(self) -> list[str]:
        """The image's RepoTags: its reference, then the extra tags."""
        return [self.ref] + [f"{self.ref}-t{n:04d}" for n in range(self.extra_tags)]

    def finish(self, arch: str) -> None:
        repo = self.ref.rsplit(":", 1)[0]
        cfg = {
            "architecture": arch,
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": [f"/opt/{repo.rsplit('/', 1)[-1]}/run"],
                "Labels": {"org.opencontainers.image.source": repo},
            },
            "created": "2023-01-01T00:00:00Z",
            "history": [
                {"created": "2023-01-01T00:00:00Z", "created_by": f"layer {i}"}
                for i in range(len(self.layers))
            ],
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in self.layers]},
        }
        self.config = json.dumps(cfg, separators=(",", ":")).encode()
        self.config_digest = "sha256:" + hashlib.sha256(self.config).hexdigest()


@dataclass
class _Builder:
    arch: str  # the arch the image configs declare
    payload: int
    spool: Path
    extra_tags: int = 0
    shape: VendorShape | None = None
    layers: dict[str, _Layer] = field(default_factory=dict)

    def layer(self, key: str, files: dict[str, bytes], payload: int = 0) -> _Layer:
        if key not in self.layers:
            self.layers[key] = _make_layer(key, self.arch, files, payload, self.spool)
        return self.layers[key]

    def image(self, ref: str, payload: int) -> _Image:
        if self.shape is not None and ref in self.shape.layers:
            stack = [
                self.layer(key, {f"etc/layers/{key.replace('/', '_').replace(':', '_')}": key.encode()}, size)
                for key, size in self.shape.layers[ref]
            ]
            img = _Image(ref, stack, extra_tags=self.extra_tags)
            img.finish(self.arch)
            return img
        base = self.layer(
            "base",
            {"etc/os-release": f"NAME=archfuse-sample\nARCH={self.arch}\n".encode(), "bin/.keep": b""},
        )
        app = self.layer(
            f"app|{ref}",
            {f"opt/{ref.rsplit('/', 1)[-1].split(':')[0]}/VERSION": f"{ref} {self.arch}\n".encode()},
            payload,
        )
        img = _Image(ref, [base, app], extra_tags=self.extra_tags)
        img.finish(self.arch)
        return img


def _hex(digest: str) -> str:
    return digest.split(":", 1)[1]


def compact_json(obj: object) -> bytes:
    """JSON as docker writes it into an archive: no spaces."""
    return json.dumps(obj, separators=(",", ":")).encode()


def _images_tar(images: list[_Image], flavour: str, manifest_first: bool) -> list[Entry]:
    entries: list[Entry] = []
    manifest: list[dict[str, object]] = []
    seen: set[str] = set()
    tail: list[Entry] = []
    if flavour == "ggcr":
        for img in images:
            names = []
            entries.append(Entry(img.config_digest, content=Content.of(img.config)))
            for layer in img.layers:
                content, digest = layer.gz()
                name = f"{_hex(digest)}.tar.gz"
                names.append(name)
                if name not in seen:
                    seen.add(name)
                    entries.append(Entry(name, content=content))
            manifest.append({"Config": img.config_digest, "RepoTags": img.repo_tags, "Layers": names})
    elif flavour == "docker-legacy":
        repos: dict[str, dict[str, str]] = {}
        for img in images:
            names, parent = [], ""
            for layer in img.layers:
                layer_id = hashlib.sha256(f"{parent}\n{layer.diff_id}".encode()).hexdigest()
                names.append(f"{layer_id}/layer.tar")
                if layer_id not in seen:
                    seen.add(layer_id)
                    meta = {"id": layer_id, **({"parent": parent} if parent else {})}
                    entries += [
                        Entry(f"{layer_id}/", "dir"),
                        Entry(f"{layer_id}/VERSION", content=Content.of(b"1.0")),
                        Entry(f"{layer_id}/json", content=Content.of(compact_json(meta))),
                        Entry(f"{layer_id}/layer.tar", content=layer.diff),
                    ]
                parent = layer_id
            entries.append(Entry(f"{_hex(img.config_digest)}.json", content=Content.of(img.config)))
            manifest.append(
                {"Config": f"{_hex(img.config_digest)}.json", "RepoTags": img.repo_tags, "Layers": names}
            )
            for ref in img.repo_tags:
                repo, tag = ref.rsplit(":", 1)
                repos.setdefault(repo, {})[tag] = parent
        tail.append(Entry("repositories", content=Content.of(compact_json(repos))))
    elif flavour == "docker-oci":
        blobs: dict[str, Content] = {}
        index = []
        for img in images:
            names, descs = [], []
            for i, layer in enumerate(img.layers):
                if i == 0:  # base layer gzip'd, app layers uncompressed: docker v25 writes either
                    content, digest = layer.gz()
                    media = mt.OCI_LAYER_GZIP
                else:
                    content, digest = layer.diff, layer.diff_id
                    media = mt.OCI_LAYER
                blobs[_hex(digest)] = content
                names.append(f"blobs/sha256/{_hex(digest)}")
                descs.append({"mediaType": media, "digest": digest, "size": content.size})
            blobs[_hex(img.config_digest)] = Content.of(img.config)
            oci = compact_json(
                {
                    "schemaVersion": 2,
                    "mediaType": mt.OCI_MANIFEST,
                    "config": {
                        "mediaType": mt.OCI_CONFIG,
                        "digest": img.config_digest,
                        "size": len(img.config),
                    },
                    "layers": descs,
                }
            )
            blobs[hashlib.sha256(oci).hexdigest()] = Content.of(oci)
            index.append(
                {
                    "mediaType": mt.OCI_MANIFEST,
                    "digest": "sha256:" + hashlib.sha256(oci).hexdigest(),
                    "size": len(oci),
                    "annotations": {
                        "io.containerd.image.name": img.ref,
                        "org.opencontainers.image.ref.name": img.ref.rsplit(":", 1)[1],
                    },
                }
            )
            manifest.append(
                {"Config": f"blobs/sha256/{_hex(img.config_digest)}", "RepoTags": img.repo_tags, "Layers": names}
            )
        entries += [Entry("blobs/", "dir"), Entry("blobs/sha256/", "dir")]
        entries += [Entry(f"blobs/sha256/{h}", content=blobs[h]) for h in sorted(blobs)]
        entries.append(
            Entry(
                "index.json",
                content=Content.of(
                    compact_json({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": index})
                ),
            )
        )
        tail.append(Entry("oci-layout", content=Content.of(b'{"imageLayoutVersion":"1.0.0"}')))
    else:
        raise ValueError(f"unknown flavour {flavour!r}; one of {', '.join(FLAVOURS)}")
    man = Entry("manifest.json", content=Content.of(compact_json(manifest)))
    return [man, *entries, *tail] if manifest_first else [*entries, man, *tail]


def chart_yaml_text(chart: SampleChart) -> str:
    """The Chart.yaml the generator writes for a sample chart."""
    return (
        f"apiVersion: v2\nname: {chart.name}\nversion: {chart.version}\nappVersion: {chart.app_version}\n"
        f"description: {chart.name} packaged for archfuse samples\ntype: application\n"
    )


ChartYaml = Callable[[SampleChart], str]


def _chart_entries(chart: SampleChart, chart_yaml_of: ChartYaml) -> list[Entry]:
    chart_yaml = chart_yaml_of(chart)
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: main\n"
        "          image: {{ .Values.image | toString | quote }}\n"
    )
    out = [
        Entry("original-chart/", "dir"),
        Entry("original-chart/Chart.yaml", content=Content.of(chart_yaml.encode())),
        Entry("original-chart/values.yaml", content=Content.of(chart.values.encode())),
        Entry("original-chart/.helmignore", content=Content.of(b".git/\n*.swp\n")),
        Entry("original-chart/templates/", "dir"),
        Entry("original-chart/templates/deployment.yaml", content=Content.of(deployment.encode())),
    ]
    if chart.subchart:
        out += [
            Entry("original-chart/charts/", "dir"),
            Entry("original-chart/charts/common/", "dir"),
            Entry(
                "original-chart/charts/common/Chart.yaml",
                content=Content.of(b"apiVersion: v2\nname: common\nversion: 2.4.0\ntype: library\n"),
            ),
        ]
    return out


def _hints_yaml(hints: tuple[str, ...]) -> bytes:
    return "".join(f'- "{h}"\n' for h in hints).encode()


def _package_entries(
    version: str,
    builder: _Builder,
    flavour: str,
    manifest_first: bool,
    charts: list[SampleChart],
    chart_yaml_of: ChartYaml = chart_yaml_text,
) -> list[Entry]:
    per_image = builder.payload // max(1, sum(len(c.images) for c in charts))
    out = [Entry(f"{_ROOT}/", "dir"), Entry(f"{_ROOT}/bin/", "dir")]
    out.append(
        Entry(
            f"{_ROOT}/bin/charts-syncer",
            content=Content.of(b"\x7fELF" + random.Random("charts-syncer").randbytes(4092)),
            mode=0o755,
        )
    )
    out.append(Entry(f"{_ROOT}/data/", "dir"))
    for repo in ("addon", "community"):
        out.append(Entry(f"{_ROOT}/data/{repo}/", "dir"))
        for i, chart in enumerate(c for c in charts if c.repo == repo):
            flav = FLAVOURS[(i + (repo == "community")) % len(FLAVOURS)] if flavour == "mixed" else flavour
            images = [builder.image(ref, per_image) for ref in chart.images]
            bundle = [
                Entry("hints.yaml", content=Content.of(_hints_yaml(chart.hints))),
                *_chart_entries(chart, chart_yaml_of),
                Entry("images.tar", children=_images_tar(images, flav, manifest_first)),
            ]
            out.append(Entry(f"{_ROOT}/data/{repo}/{chart.name}_{chart.version}.bundle.tar", children=bundle))
    out.append(Entry(f"{_ROOT}/config/", "dir"))
    out.append(Entry(f"{_ROOT}/config/load.yaml", content=Content.of(f"version: {version}\n".encode())))
    return out


def _write(entries: list[Entry], path: Path, compress: bool) -> str:
    """Write the outer archive atomically; returns its sha512 hex digest."""
    h = hashlib.sha512()
    tmp = path.with_name(f".{path.name}.part")
    with tmp.open("wb") as f:
        sink = HashingSink(f, [h])
        if compress:
            with igzip.IGzipFile(fileobj=sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
                write_tar(entries, gz)
        else:
            write_tar(entries, sink)
    os.replace(tmp, path)
    return h.hexdigest()


def write_sample_package(
    dest_dir: Path,
    version: str,
    arch: str,
    *,
    flavour: str = "ggcr",
    payload: int = 0,
    compress: bool = True,
    name: str | None = None,
    manifest_first: bool = False,
    image_arch: str | None = None,
    charts: list[str] | None = None,
    bulk: int = 0,
    mutate: Callable[[list[Entry]], None] | None = None,
    chart_yaml: ChartYaml = chart_yaml_text,
    extra_tags: int = 0,
    shape: VendorShape | None = None,
) -> Path:
    """Write ``addon-offline-full-package-<version>-<arch>.tar.gz`` (or ``.tar``) and its ``.sha512sum``.

    ``flavour``: ``ggcr`` (the vendor's), ``docker-legacy``, ``docker-oci`` or ``mixed`` (bundles
    rotate through all three). ``payload``: extra incompressible bytes spread over the app layers
    (0 gives a package of a few KB). ``image_arch`` makes the image configs declare another arch;
    ``charts`` keeps only the named charts; ``bulk`` adds that many small images (see
    :func:`bulk_charts`); ``mutate`` edits the member tree (tests/fixtures/broken.py); ``chart_yaml`` writes
    each chart's Chart.yaml (default :func:`chart_yaml_text`); ``extra_tags`` gives every image that
    many more RepoTags (``<ref>-t0000``, ...: one image under thousands of tags). ``shape`` writes
    a package shaped like the vendor's instead of the sample catalog (see :func:`vendor_shape`;
    ``payload`` is then unused: the shape's layer sizes hold the bytes).
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    file_name = name or f"addon-offline-full-package-{version}-{arch}.{'tar.gz' if compress else 'tar'}"
    path = dest_dir / file_name
    catalog = shape.charts if shape is not None else _catalog(version) + bulk_charts(bulk)
    selected = [c for c in catalog if charts is None or c.name in charts]
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix=".layers-") as spool:
        builder = _Builder(image_arch or arch, 0 if shape else payload, Path(spool), extra_tags, shape)
        entries = _package_entries(version, builder, flavour, manifest_first, selected, chart_yaml)
        if mutate is not None:
            mutate(entries)
        digest = _write(entries, path, compress)
    sidecar_path(path).write_text(sidecar_text(path, digest))
    return path


def write_demo_set(dest_dir: Path) -> list[Path]:
    """amd64 + arm64 x two versions (the newer one mixes every docker-archive flavour); ~100 KB each."""
    out = []
    for version in DEMO_VERSIONS:
        for arch in ARCHES:
            flavour = "ggcr" if version == DEMO_VERSIONS[0] else "mixed"
            out.append(write_sample_package(dest_dir, version, arch, flavour=flavour, payload=96 << 10))
    return out
