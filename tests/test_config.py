"""Target configuration: --registry values, the vendor's clusterConfig.yaml flavours, secrets."""

from __future__ import annotations

import copy
import pickle
import textwrap
from pathlib import Path

import pytest

from core.config import (
    ClusterConfig,
    Secret,
    TargetConfig,
    build_target_config,
    load_cluster_config,
    parse_target,
)
from core.errors import UsageError

V1ALPHA3 = """
apiVersion: provision.daocloud.io/v1alpha3
kind: ClusterConfig
spec:
  imagesAndCharts:
    type: external
    externalImageRepo: https://registry.example.com
    externalImageRepoUsername: admin
    externalImageRepoPassword: Harbor12345
    externalChartRepoType: chartmuseum
    externalChartRepo: https://charts.example.com:8081
    externalChartRepoUsername: rootuser
    externalChartRepoPassword: rootpass123
  addonPackage:
    path: "/home/addon-offline-full-package-v0.9.0-amd64.tar.gz"
"""


def write(tmp_path: Path, text: str, name: str = "clusterConfig.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path: Path, text: str, name: str = "clusterConfig.yaml") -> ClusterConfig:
    """Write ``text`` (dedented) as a cluster config file and load it."""
    return load_cluster_config(write(tmp_path, text, name))


def cluster_yaml(api_version: str, spec: str) -> str:
    """A ClusterConfig document of ``api_version`` with the (dedented) ``spec`` lines."""
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return f"apiVersion: provision.daocloud.io/{api_version}\nkind: ClusterConfig\nspec:\n{body}\n"


# -- parse_target ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://registry.example.com", "https://registry.example.com"),
        ("https://registry.example.com:5000/", "https://registry.example.com:5000"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("HTTPS://Registry.Example.com", "https://registry.example.com"),
    ],
)
def test_parse_target_registry_urls(value: str, expected: str) -> None:
    assert parse_target(value) == ("registry", expected)


def test_parse_target_layouts(tmp_path: Path) -> None:
    assert parse_target("oci:/data/layout") == ("layout", Path("/data/layout"))
    assert parse_target("./layout") == ("layout", Path("layout"))
    assert parse_target(str(tmp_path)) == ("layout", tmp_path)
    assert parse_target("~/layout") == ("layout", Path.home() / "layout")
    existing = tmp_path / "data.v2"
    existing.mkdir()
    assert parse_target(str(existing)) == ("layout", existing)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ftp://host", "must start with https:// or http://"),
        ("https://", "no host name"),
        ("https://user:pw@host", "credentials in the URL"),
        ("https://host/project", "use --prefix for the path"),
        ("https://host:99999", "invalid port"),
        ("registry.example.com:5000", "looks like a registry host without a scheme"),
        ("harbor.local", "https://harbor.local"),
        ("oci:", "needs a directory path"),
        ("oci:/data/x:tag", "contains ':'"),
        ("", "empty"),
    ],
)
def test_parse_target_refuses(value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as err:
        parse_target(value)
    assert err.value.exit_code == 2


# -- Secret ------------------------------------------------------------------------------------


def test_secrets_never_show() -> None:
    password = Secret("Harbor12345")
    assert password.reveal() == "Harbor12345"
    for shown in (repr(password), str(password), f"{password}", f"{password!r}", f"{password:>20}"):
        assert "Harbor12345" not in shown
    config = TargetConfig(registry_url="https://r", username="admin", password=password)
    assert "Harbor12345" not in repr(config) and "Harbor12345" not in str(config)
    assert copy.deepcopy(config).password == password
    with pytest.raises(TypeError):
        pickle.dumps(password)
    assert not Secret("") and Secret("x") == Secret("x") and Secret("x") != Secret("y")


# -- clusterConfig.yaml ------------------------------------------------------------------------


def test_v1alpha3_external(tmp_path: Path) -> None:
    cluster = load(tmp_path, V1ALPHA3)
    assert cluster.api_version == "provision.daocloud.io/v1alpha3"
    assert cluster.registry_type == "external"
    assert cluster.registry_url == "https://registry.example.com"
    assert cluster.username == "admin" and cluster.password == Secret("Harbor12345")
    assert cluster.chart_repo_type == "chartmuseum"
    assert cluster.chart_repo_url == "https://charts.example.com:8081"
    assert cluster.chart_username == "rootuser" and cluster.chart_password == Secret("rootpass123")
    assert cluster.packages == (Path("/home/addon-offline-full-package-v0.9.0-amd64.tar.gz"),)
    for text in (repr(cluster), str(cluster)):
        assert "Harbor12345" not in text and "rootpass123" not in text

    config = build_target_config(cluster=cluster, env={})
    assert config.kind == "registry" and config.description == "https://registry.example.com"
    assert config.password is not None and config.password.reveal() == "Harbor12345"
    assert (
        config.chart_repo_type == "chartmuseum" and config.chart_repo_url == "https://charts.example.com:8081"
    )
    assert config.registry_type == "external"
    assert "Harbor12345" not in repr(config) and "rootpass123" not in repr(config)


def test_older_addon_offline_package_path(tmp_path: Path) -> None:
    spec = """
        imagesAndCharts:
          type: external
          externalImageRepo: http://10.6.0.1:5000
        addonOfflinePackagePath: packages/addon-offline-full-package-v0.8.0-arm64.tar.gz
    """
    cluster = load(tmp_path, cluster_yaml("v1alpha3", spec))
    assert cluster.packages == (tmp_path / "packages/addon-offline-full-package-v0.8.0-arm64.tar.gz",)
    assert cluster.registry_url == "http://10.6.0.1:5000"
    with pytest.raises(UsageError, match="plain HTTP; pass --insecure"):
        build_target_config(cluster=cluster, env={})
    config = build_target_config(cluster=cluster, insecure=True, env={})
    assert config.insecure and config.chart_repo_type == "oci" and config.chart_repo_url is None


def test_v1alpha2_registry_fields(tmp_path: Path) -> None:
    spec = """
        registry:
          type: external
          externalRegistry: harbor.example.com:8443
          externalRegistryUsername: robot$addon
          externalRegistryPassword: s3cret
    """
    cluster = load(tmp_path, cluster_yaml("v1alpha2", spec))
    assert cluster.registry_type == "external"
    assert cluster.registry_url == "https://harbor.example.com:8443"  # v1alpha2: https assumed
    assert cluster.username == "robot$addon" and cluster.password == Secret("s3cret")
    assert cluster.packages == ()
    config = build_target_config(cluster=cluster, env={})
    assert config.registry_url == "https://harbor.example.com:8443"


def test_builtin_without_addresses_asks_for_flags(tmp_path: Path) -> None:
    path = write(tmp_path, cluster_yaml("v1alpha3", "imagesAndCharts:\n  type: builtin"))
    cluster = load_cluster_config(path)
    assert cluster.registry_type == "builtin" and cluster.registry_url is None
    with pytest.raises(UsageError, match=r"builtin.*pass --registry URL and pass --chart-repo URL") as err:
        build_target_config(cluster=cluster, env={})
    assert str(path) in str(err.value) and err.value.exit_code == 2
    with pytest.raises(UsageError, match="pass --chart-repo URL"):
        build_target_config("https://10.6.0.1", cluster, env={})
    config = build_target_config("https://10.6.0.1", cluster, chart_repo="http://10.6.0.1:8081", env={})
    assert config.registry_type == "builtin"
    assert config.chart_repo_type == "chartmuseum" and config.chart_repo_url == "http://10.6.0.1:8081"


def test_official_service_and_jfrog_need_flags(tmp_path: Path) -> None:
    official = load(tmp_path, "spec:\n  imagesAndCharts:\n    type: official-service\n")
    with pytest.raises(UsageError, match="official-service"):
        official.target_config()
    assert build_target_config("./layout", official, env={}).kind == "layout"
    jfrog = load(
        tmp_path,
        """
        spec:
          imagesAndCharts:
            type: external
            externalImageRepo: https://r.example.com
            externalChartRepoType: jfrog
            externalChartRepo: https://jfrog.example.com/artifactory/api/helm/addon
        """,
        "jfrog.yaml",
    )
    with pytest.raises(UsageError, match="jfrog is not supported"):
        build_target_config(cluster=jfrog, env={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec: [\n", r"not valid YAML at line \d"),
        ("- a\n- b\n", "not a YAML mapping"),
        ("kind: Cluster\nspec: {}\n", "kind is 'Cluster', not ClusterConfig"),
        ("kind: ClusterConfig\n", "has no spec"),
        ("spec: [1]\n", "spec must be a mapping"),
        ("spec:\n  imagesAndCharts: yes\n", r"spec\.imagesAndCharts must be a mapping"),
        ("spec:\n  imagesAndCharts:\n    type: cloud\n", r"spec\.imagesAndCharts\.type is 'cloud'"),
        (
            "spec:\n  imagesAndCharts:\n    type: external\n    externalImageRepo: registry.example.com\n",
            r"spec\.imagesAndCharts\.externalImageRepo 'registry.example.com' must start with https://",
        ),
        (
            "spec:\n  imagesAndCharts:\n    type: external\n",
            r"spec\.imagesAndCharts\.externalImageRepo is missing",
        ),
        (
            "spec:\n  imagesAndCharts:\n    externalImageRepo: https://r\n    externalImageRepoPassword: [1]\n",
            r"externalImageRepoPassword must be a string",
        ),
        (
            "spec:\n  imagesAndCharts:\n    externalChartRepo: charts.example.com\n",
            r"externalChartRepo 'charts.example.com' must be a URL with a scheme",
        ),
        ("spec:\n  addonPackage:\n    path: [1]\n", r"spec\.addonPackage\.path must be a file path"),
        ("spec:\n  registry:\n    externalRegistry: https://r/x\n", r"spec\.registry\.externalRegistry"),
    ],
)
def test_bad_files_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match=message) as err:
        load_cluster_config(path)
    assert str(path) in str(err.value)
    assert err.value.exit_code == 2


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Cannot read the cluster config .*missing.yaml"):
        load_cluster_config(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_cluster_config(binary)


# -- build_target_config -----------------------------------------------------------------------


def test_flags_env_and_file_precedence(tmp_path: Path) -> None:
    cluster = load(tmp_path, V1ALPHA3)
    env = {"ARCHFUSE_USERNAME": "envuser", "ARCHFUSE_PASSWORD": "envpass"}
    assert build_target_config(cluster=cluster, env=env).username == "envuser"
    flagged = build_target_config(cluster=cluster, username="flaguser", password="flagpass", env=env)
    assert flagged.username == "flaguser" and flagged.password == Secret("flagpass")
    # --registry naming another registry drops the file's credentials for its own registry
    other = build_target_config("https://other.example.com", cluster, env={})
    assert (
        other.registry_url == "https://other.example.com"
        and other.username is None
        and other.password is None
    )
    same = build_target_config("https://registry.example.com/", cluster, env={})
    assert same.username == "admin"


def test_flags_only(tmp_path: Path) -> None:
    config = build_target_config(
        "https://harbor.example.com",
        chart_repo="https://harbor.example.com",
        chart_repo_type="harbor",
        prefix="/addon/",
        create_spaces=True,
        space_visibility="private",
        env={},
    )
    assert config.kind == "registry" and config.prefix == "addon"
    assert (
        config.chart_repo_type == "harbor" and config.create_spaces and config.space_visibility == "private"
    )
    layout = build_target_config(f"oci:{tmp_path / 'l'}", env={})
    assert layout.kind == "layout" and layout.layout_path == tmp_path / "l" and layout.registry_url is None
    assert layout.description == f"oci:{tmp_path / 'l'}"
    assert (
        build_target_config("./x", chart_repo="oci://r.example.com/charts", env={}).chart_repo_type == "oci"
    )
    assert (
        build_target_config("./x", chart_repo="https://cm.example.com", env={}).chart_repo_type
        == "chartmuseum"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "No target"),
        ({"registry": "https://r", "chart_repo_type": "s3"}, "chart repository type 's3' is not supported"),
        ({"registry": "https://r", "chart_repo_type": "harbor"}, "needs its URL: pass --chart-repo URL"),
        ({"registry": "https://r", "chart_repo": "charts.local"}, "must be a URL"),
        ({"registry": "https://r", "space_visibility": "secret"}, "public or private"),
        ({"registry": "https://r", "ca_cert": Path("/nonexistent/ca.pem")}, "is not a readable file"),
        ({"registry": "https://r", "password": "x"}, "without a user name"),
    ],
)
def test_bad_flags(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_target_config(env={}, **kwargs)


def test_cluster_config_is_frozen(tmp_path: Path) -> None:
    cluster = load(tmp_path, V1ALPHA3)
    assert isinstance(cluster, ClusterConfig)
    with pytest.raises(AttributeError):
        cluster.registry_url = "https://x"


@pytest.mark.parametrize("prefix", ["Addons", "my prefix", "a//b", "x/-y"])
def test_bad_prefix_is_a_usage_error(prefix: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--prefix"):
        build_target_config(str(tmp_path / "layout"), prefix=prefix, env={})


def test_nested_prefix_is_fine(tmp_path: Path) -> None:
    assert build_target_config(str(tmp_path / "layout"), prefix="/addons/v1/", env={}).prefix == "addons/v1"
