"""Charts exactly as Helm writes them (issue 11, item 3), checked with a real helm (3 and 4).

archfuse pushes charts whose Chart.yaml has unquoted numbers and booleans where Helm keeps text
(``appVersion: 1.10``, ``appVersion: 7``, annotations ``revision: 2`` and
``artifacthub.io/prerelease: false``) into the real registry; helm must pull, show and template
them, and the config blob and manifest annotations must be what ``helm push`` writes for the same
chart archive. The one difference: ``helm push`` writes the time of the push as
``org.opencontainers.image.created`` unless the chart's annotations set it; archfuse writes it
only from the chart, so the same chart always gives the same manifest.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from core.charts.helmmeta import CREATED
from core.demo.samples import SampleChart, chart_yaml_text
from core.oci import mediatypes as mt
from core.oci.digest import sha256_digest
from core.oci.manifest import ManifestRef, canonical_json
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.helm import Helm
from tests.fixtures.registry import RegistryServer

# as a vendor writes them: numbers and booleans where Helm expects text
LOOSE = {
    "metrics-server": "appVersion: 1.10\nannotations:\n  revision: 2\n  artifacthub.io/prerelease: false\n",
    "ingress-nginx": "appVersion: 7\nannotations:\n  category: networking\n",
}
RICH = (
    "apiVersion: v2\nname: metrics-server\nversion: 3.8.3\nappVersion: 1.10\n"
    "description: \"Metrics <b>server</b> & friends \\u2014 caf\\u00e9\\tline\"\n"
    "home: https://example.com/?a=1&b=2\nsources: [https://github.com/x/y, https://github.com/x/z]\n"
    "keywords: [metrics, 1, true, 1.50]\nkubeVersion: \">=1.20.0-0\"\ndeprecated: true\ntype: application\n"
    "icon: https://example.com/icon.png\n"
    "maintainers:\n  - name: Alice\n    email: alice@example.com\n    url: https://alice.example\n  - name: Bob\n"
    "annotations:\n  revision: 2\n  artifacthub.io/prerelease: false\n  yes: on\n  ratio: 0.30\n"
    "  org.opencontainers.image.title: not-the-name\n  unknownField: 1e3\n"
    "extraTopLevel: dropped by helm\n"
)


def _loose(chart: SampleChart) -> str:
    base = chart_yaml_text(chart).replace(f"appVersion: {chart.app_version}\n", "")
    return base + LOOSE.get(chart.name, f"appVersion: {chart.app_version}\n")


def _rich(chart: SampleChart) -> str:
    if chart.name == "metrics-server":
        return RICH
    return chart_yaml_text(chart) + 'annotations:\n  org.opencontainers.image.created: "2024-05-01T00:00:00Z"\n'


def _import(package: Path, registry: RegistryServer, state: Path) -> None:
    result = archfuse("import", package, *registry_args(registry), "--yes", state_dir=state)
    assert result.code == 0, result.err


def _manifest(registry: RegistryServer, repository: str, tag: str) -> tuple[dict[str, Any], bytes]:
    """A chart manifest in the registry and its config blob."""
    with httpx.Client(base_url=registry.url) as http:
        resp = http.get(f"/v2/{repository}/manifests/{tag}", headers={"Accept": mt.OCI_MANIFEST})
        resp.raise_for_status()
        manifest = resp.json()
        config = http.get(f"/v2/{repository}/blobs/{manifest['config']['digest']}")
        config.raise_for_status()
    return manifest, config.content


def test_helm_pulls_shows_and_templates_charts_with_loose_chart_yaml(
    helm: Helm, registry: RegistryServer, sample_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = sample_package(charts=["metrics-server", "ingress-nginx"], chart_yaml=_loose)
    _import(package, registry, tmp_path / "state")
    for name, version, app_version in (("metrics-server", "3.8.3", "1.1"), ("ingress-nginx", "4.8.0", "7")):
        ref = f"oci://{registry.host}/addon/{name}"
        shown = helm.run("show", "chart", ref, "--version", version, "--plain-http").stdout
        assert f'appVersion: "{app_version}"' in shown
        pulled = tmp_path / "pulled" / name
        pulled.mkdir(parents=True)
        helm.run("pull", ref, "--version", version, "--plain-http", "-d", pulled)
        assert (pulled / f"{name}-{version}.tgz").is_file()
        rendered = helm.run("template", "rel", ref, "--version", version, "--plain-http").stdout
        assert "kind: Deployment" in rendered
        values = helm.run("show", "values", ref, "--version", version, "--plain-http").stdout
        assert f"registry: {registry.host}" in values  # relocated
    shown = helm.run("show", "chart", f"oci://{registry.host}/addon/metrics-server", "--version", "3.8.3",
                     "--plain-http").stdout
    assert 'revision: "2"' in shown and 'artifacthub.io/prerelease: "false"' in shown


def test_config_blob_and_annotations_are_what_helm_push_writes(
    helm: Helm, registry: RegistryServer, sample_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = sample_package(charts=["metrics-server", "ingress-nginx"], chart_yaml=_rich)
    _import(package, registry, tmp_path / "state")
    manifests = {}
    for name, version in (("metrics-server", "3.8.3"), ("ingress-nginx", "4.8.0")):
        ours, our_config = _manifest(registry, f"addon/{name}", version)
        manifests[name] = dict(ours)
        pulled = tmp_path / "pulled" / name
        pulled.mkdir(parents=True)
        helm.run("pull", f"oci://{registry.host}/addon/{name}", "--version", version, "--plain-http", "-d", pulled)
        helm.run("push", pulled / f"{name}-{version}.tgz", f"oci://{registry.host}/helm-pushed", "--plain-http")
        theirs, their_config = _manifest(registry, f"helm-pushed/{name}", version)
        assert our_config == their_config
        assert ours["config"] == theirs["config"] and ours["layers"] == theirs["layers"]
        if name == "metrics-server":  # helm wrote the push time; archfuse leaves it out
            assert CREATED in theirs["annotations"] and CREATED not in ours["annotations"]
            theirs["annotations"].pop(CREATED)
        assert ours["annotations"] == theirs["annotations"]
    _import(package, registry, tmp_path / "again")  # the same chart gives the same manifest: nothing moves
    assert _manifest(registry, "addon/metrics-server", "3.8.3")[0] == manifests["metrics-server"]


def test_a_chart_helm_cannot_read_is_written_again(
    helm: Helm, registry: RegistryServer, sample_package: Callable[..., Path], tmp_path: Path
) -> None:
    """A chart an earlier archfuse pushed with numbers in its config: verify says so, a re-import repairs it."""
    package = sample_package(charts=["metrics-server"], chart_yaml=_loose)
    state = tmp_path / "state"
    _import(package, registry, state)
    manifest, config = _manifest(registry, "addon/metrics-server", "3.8.3")
    broken = config.replace(b'"appVersion":"1.1"', b'"appVersion":1.1')
    digest = sha256_digest(broken)
    manifest["config"] = {**manifest["config"], "digest": digest, "size": len(broken)}
    with registry.client() as client:  # what an earlier archfuse wrote
        client.put_blob("addon/metrics-server", digest, len(broken), io.BytesIO(broken))
        client.put_manifest("addon/metrics-server", "3.8.3", ManifestRef(canonical_json(manifest), mt.OCI_MANIFEST))
    ref = f"oci://{registry.host}/addon/metrics-server"
    refused = helm.run("show", "chart", ref, "--version", "3.8.3", "--plain-http", check=False)
    assert refused.returncode != 0 and "cannot unmarshal number" in refused.stderr
    verify = archfuse("verify", package, *registry_args(registry), state_dir=state)
    assert verify.code != 0 and "chart metrics-server-3.8.3" in verify.out
    _import(package, registry, state)
    assert 'appVersion: "1.1"' in helm.run("show", "chart", ref, "--version", "3.8.3", "--plain-http").stdout
