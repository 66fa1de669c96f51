"""Chart.yaml as Helm reads it, without a helm binary: values recorded from Helm 3.17.2 (``helm show
chart`` and the config blob of ``helm push``); tests/test_charts_helm.py compares with a live helm."""

from __future__ import annotations

import pytest

from core.charts.helmmeta import HelmMetadataError, helm_annotations, helm_config, helm_metadata

# plain scalar as written -> the text Helm keeps (go-yaml resolution, then Go's float32 'g' format)
AS_HELM_READS = {
    "1.10": "1.1", "1.0": "1", "2.50": "2.5", "1e3": "1000", "123456789.123": "1.2345679e+08",
    "1.123456789": "1.1234568", "0.0000001": "1e-07", ".inf": "+Inf", "0x1F": "31", "0o17": "15", "017": "15",
    "1_000": "1000", "1:20": "1:20", "2023-01-01": "2023-01-01", "on": "true", "y": "true", "NO": "false",
    "null": "", "99999999999999999999": "1e+20", "+7": "7", "0b101": "5", "08": "8", "-0.0": "-0",
    "16777217.0": "1.6777216e+07", "1.1e+5": "110000", "9223372036854775807": "9223372036854775807",
    "'quoted'": "quoted", '"1.10"': "1.10",
}  # fmt: skip


@pytest.mark.parametrize(("written", "text"), sorted(AS_HELM_READS.items()))
def test_scalars_where_helm_expects_text(written: str, text: str) -> None:
    meta = helm_metadata(f"apiVersion: v2\nname: c\nversion: 0.1.0\nannotations:\n  a: {written}\n")
    assert meta["annotations"] == {"a": text}


def test_config_is_go_json_of_helm_metadata_in_field_order() -> None:
    meta = helm_metadata(
        "type: application\nname: c\nversion: 1.0.0\nappVersion: 7\nkubeVersion: '>=1.20'\n"
        "description: \"a\\tb \\u2028 <&>\"\nkeywords: [x, 1]\nextra: dropped\ndeprecated: false\n"
        "maintainers: [{name: Ann, email: a@x}, {email: b@x}]\napiVersion: v2\n"
    )
    assert helm_config(meta) == (
        b'{"name":"c","version":"1.0.0","description":"a b   \\u003c\\u0026\\u003e","keywords":["x","1"],'
        b'"maintainers":[{"name":"Ann","email":"a@x"},{"email":"b@x"}],"apiVersion":"v2","appVersion":"7",'
        b'"kubeVersion":"\\u003e=1.20","type":"application"}'
    )
    assert helm_annotations(meta)["org.opencontainers.image.authors"] == "Ann (a@x),  (b@x)"


@pytest.mark.parametrize("bad", ["appVersion: [1]", "deprecated: 'yes'", "annotations: [a]", "maintainers: [x]"])
def test_values_helm_cannot_read_are_refused(bad: str) -> None:
    with pytest.raises(HelmMetadataError):
        helm_metadata(f"apiVersion: v2\nname: c\nversion: 0.1.0\n{bad}\n")
