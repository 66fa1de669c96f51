"""Hints and relocation: only hinted values change, everything else in values.yaml survives."""

from __future__ import annotations

import difflib

import pytest
import yaml

from core.charts.hints import hinted_images, parse_hint, parse_hints
from core.charts.relocate import relocate
from core.charts.repack import unpack
from core.charts.tree import chart_values
from core.errors import ChartError
from tests.fixtures.chartfiles import DIRSUB_VALUES, HINTS, IMAGES, TGZSUB_VALUES, VALUES, chart_files

HOST = "registry.example.com:5000"


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old line, new line) pairs of a line-by-line diff that keeps the line count."""
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b), "relocation added or removed lines"
    return [(x, y) for x, y in zip(a, b) if x != y]


def minimal_chart(values: str) -> dict[str, bytes]:
    """The files of chart ``c`` 1.0.0 with this values.yaml."""
    return {"Chart.yaml": b"name: c\nversion: 1.0.0\n", "values.yaml": values.encode()}


def relocated_values(values: str, hints: list[str], host: str) -> str:
    """The values.yaml of :func:`minimal_chart` after relocation to ``host``."""
    return relocate(minimal_chart(values), hints, host=host, bundle="b").files["values.yaml"].decode()


def test_parse_hints_shapes() -> None:
    hints = parse_hints(
        '- "{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}"\n'
        '- "{{ .Values.single }}"\n'
        "- '{{- .sub.image.repository -}}'\n"
    )
    assert [h.keys for h in hints] == [
        (("image", "registry"), ("image", "repository"), ("image", "tag")),
        (("single",),),
        (("sub", "image", "repository"),),
    ]
    assert parse_hints("") == []
    with pytest.raises(ChartError, match="bundle b_1.bundle.tar"):
        parse_hint("{{ .image.tag | default .Chart.AppVersion }}", bundle="b_1.bundle.tar")
    with pytest.raises(ChartError, match="not a list"):
        parse_hints("image: x", bundle="b")


def test_hinted_images_resolves_every_form() -> None:
    values = {
        "image": {"registry": "docker.m.daocloud.io", "repository": "a/b", "tag": "1.0"},
        "whole": "quay.io/x/y:2",
        "notag": {"registry": "ghcr.io", "repository": "o/p"},
        "sub": {"image": {"repository": "library/nginx", "tag": 1.25}},
    }
    hints = [
        "{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}",
        "{{ .whole }}",
        "{{ .notag.registry }}/{{ .notag.repository }}",
        "{{ .sub.image.repository }}:{{ .sub.image.tag }}",
        "{{ .whole }}",
    ]
    assert hinted_images(hints, values, app_version="9.9") == [
        "docker.m.daocloud.io/a/b:1.0",
        "quay.io/x/y:2",
        "ghcr.io/o/p:9.9",
        "library/nginx:1.25",
    ]
    with pytest.raises(ChartError, match=r"'image\.missing', which does not exist"):
        hinted_images(["{{ .image.missing }}"], values, bundle="x_1.bundle.tar")


def test_chart_values_merges_subchart_defaults_under_parent_overrides() -> None:
    values = chart_values(chart_files().files)
    assert values["dirsub"]["image"] == {
        "registry": "quay.io",
        "repository": "bitnami/kubectl",
        "tag": "1.27",
    }
    assert values["tgzsub"]["image"] == "docker.io/library/busybox:1.36"
    assert hinted_images(HINTS, values) == IMAGES


def test_relocation_changes_only_hinted_values_and_keeps_comments() -> None:
    source = chart_files()
    result = relocate(source.files, source.hints, host=HOST, prefix="", imported_refs=IMAGES, bundle="b")
    before = VALUES
    after = result.files["values.yaml"].decode()
    assert changed_lines(before, after) == [
        (
            "  registry: docker.m.daocloud.io   # keep this comment",
            f"  registry: {HOST}   # keep this comment",
        ),
        (
            "  image: 'docker.m.daocloud.io/autoscaling/addon-resizer:1.8.14'  # one key, whole reference",
            f"  image: '{HOST}/autoscaling/addon-resizer:1.8.14'  # one key, whole reference",
        ),
        ("    registry: quay.io", f"    registry: {HOST}"),
    ]
    # the repository did not change (empty prefix), its double quotes and the odd list layout stayed
    assert '  repository: "metrics-server/metrics-server"' in after
    assert "  -   --metric-resolution=15s   # odd layout survives" in after
    assert [i.relocated for i in result.images] == [
        f"{HOST}/metrics-server/metrics-server:v0.6.2",
        f"{HOST}/autoscaling/addon-resizer:1.8.14",
        f"{HOST}/bitnami/kubectl:1.27",
        f"{HOST}/library/busybox:1.36",
    ]
    assert all(i.imported for i in result.images)
    assert result.files["templates/deployment.yaml"] == source.files["templates/deployment.yaml"]


def test_relocation_with_prefix_splits_registry_and_repository() -> None:
    source = chart_files()
    result = relocate(
        source.files, source.hints, host=HOST, prefix="vendor/addons", imported_refs=IMAGES, bundle="b"
    )
    values = yaml.safe_load(result.files["values.yaml"])
    assert values["image"] == {
        "registry": HOST,
        "repository": "vendor/addons/metrics-server/metrics-server",
        "tag": "v0.6.2",
        "pullPolicy": "IfNotPresent",
    }
    assert values["addonResizer"]["image"] == f"{HOST}/vendor/addons/autoscaling/addon-resizer:1.8.14"
    after = result.files["values.yaml"].decode()
    assert '  repository: "vendor/addons/metrics-server/metrics-server"' in after  # quoting kept
    assert "  # the registry the vendor pulls from\n" in after
    assert after.startswith("# Default values for metrics-server.\n# This is a YAML-formatted file.\n\n")


def test_relocation_rewrites_directory_and_tgz_subcharts() -> None:
    source = chart_files()
    result = relocate(source.files, source.hints, host=HOST, prefix="p", imported_refs=IMAGES, bundle="b")
    # registry of dirsub comes from the parent (overrides), repository from the subchart's defaults
    dirsub = result.files["charts/dirsub/values.yaml"].decode()
    assert changed_lines(DIRSUB_VALUES, dirsub) == [
        (
            "  repository: bitnami/kubectl  # the repository",
            "  repository: p/bitnami/kubectl  # the repository",
        )
    ]
    parent = yaml.safe_load(result.files["values.yaml"])
    assert parent["dirsub"]["image"]["registry"] == HOST
    top, tgz_files = unpack(result.files["charts/tgzsub-0.2.0.tgz"], what="test")
    assert top == "tgzsub"
    assert changed_lines(TGZSUB_VALUES, tgz_files["values.yaml"].decode()) == [
        (
            "image: docker.io/library/busybox:1.36  # whole reference",
            f"image: {HOST}/p/library/busybox:1.36  # whole reference",
        )
    ]
    assert tgz_files["templates/pod.yaml"] == b"image: {{ .Values.image }}\n"
    assert hinted_images(HINTS, chart_values(result.files)) == [
        f"{HOST}/p/metrics-server/metrics-server:v0.6.2",
        f"{HOST}/p/autoscaling/addon-resizer:1.8.14",
        f"{HOST}/p/bitnami/kubectl:1.27",
        f"{HOST}/p/library/busybox:1.36",
    ]


def test_completeness_warnings() -> None:
    source = chart_files()
    result = relocate(source.files, source.hints, host=HOST, imported_refs=IMAGES[:3], bundle="b")
    assert [i.imported for i in result.images] == [True, True, True, False]
    text = "\n".join(result.warnings)
    assert "docker.io/library/busybox:1.36" in text and "not in the package" in text
    # an image-like value no hint covers is reported; the shadowed subchart default is not
    assert "values.yaml: unhinted (ghcr.io/stray/image:1.0)" in text
    assert "charts/dirsub" not in text
    assert len(result.warnings) == 2


def test_unhinted_repository_map_is_reported() -> None:
    values = "image:\n  repository: a/b\n  tag: '1'\nother:\n  repository: c/d\n  tag: '2'\n"
    hints = ["{{ .image.repository }}:{{ .image.tag }}"]
    result = relocate(minimal_chart(values), hints, host=HOST, bundle="b")
    assert result.warnings == (
        "No hint covers the image in values.yaml: other.repository (c/d); it would be pulled from outside the air gap.",
    )
    assert yaml.safe_load(result.files["values.yaml"])["image"]["repository"] == f"{HOST}/a/b"


def test_literal_path_in_hint_moves_prefix_to_registry_key() -> None:
    values = "registry: docker.io\nname: nginx\ntag: '1.25'\n"
    hints = ["{{ .registry }}/library/{{ .name }}:{{ .tag }}"]
    result = relocate(minimal_chart(values), hints, host=HOST, prefix="px", bundle="b")
    assert yaml.safe_load(result.files["values.yaml"]) == {
        "registry": f"{HOST}/px",
        "name": "nginx",
        "tag": "1.25",
    }
    assert result.images[0].relocated == f"{HOST}/px/library/nginx:1.25"


def test_registry_written_in_the_hint_cannot_be_relocated() -> None:
    with pytest.raises(ChartError, match="bundle c_1.0.0.bundle.tar cannot be pointed at"):
        relocate(
            minimal_chart("repo: a/b\n"), ["quay.io/{{ .repo }}"], host=HOST, bundle="c_1.0.0.bundle.tar"
        )


def test_hint_naming_missing_key_is_a_chart_error() -> None:
    source = chart_files()
    with pytest.raises(ChartError, match=r"bundle m_1\.bundle\.tar names values key 'image\.digest'"):
        relocate(
            source.files, ["{{ .image.repository }}@{{ .image.digest }}"], host=HOST, bundle="m_1.bundle.tar"
        )


def test_untouched_chart_keeps_every_byte() -> None:
    source = chart_files()
    result = relocate(source.files, [], host=HOST, bundle="b")
    assert result.files == source.files
    assert result.changed == ()


def test_quoting_and_flow_mappings() -> None:
    values = 'a: {registry: "docker.io", repository: x/y, tag: "1"}  # flow\nb:\n  ref: "quay.io/q/r:2"\n'
    hints = ["{{ .a.registry }}/{{ .a.repository }}:{{ .a.tag }}", "{{ .b.ref }}"]
    after = relocated_values(values, hints, host="10.0.0.1:5000")
    diff = [line for line in difflib.ndiff(values.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert diff == [
        '- a: {registry: "docker.io", repository: x/y, tag: "1"}  # flow',
        '+ a: {registry: "10.0.0.1:5000", repository: x/y, tag: "1"}  # flow',
        '-   ref: "quay.io/q/r:2"',
        '+   ref: "10.0.0.1:5000/q/r:2"',
    ]


def test_alias_and_block_scalar_fall_back_to_round_trip_dump() -> None:
    values = '# top\ncommon: &reg docker.io   # anchor\nimage:\n  registry: *reg\n  repository: a/b\n  tag: "1"\nlong: >-\n  docker.io/x/y:1\n'
    hints = ["{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}", "{{ .long }}"]
    after = relocated_values(values, hints, host="h.io")
    assert yaml.safe_load(after) == {
        "common": "docker.io",
        "image": {"registry": "h.io", "repository": "a/b", "tag": "1"},
        "long": "h.io/x/y:1",
    }
    assert after.startswith("# top\ncommon: &reg docker.io   # anchor\n")
    assert 'tag: "1"' in after
