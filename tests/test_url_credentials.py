"""A password inside a URL is taken out at once, used as the credentials, and never shown.

``--registry https://user:pw@host``, ``--chart-repo http://user:pw@host`` and ``externalImageRepo`` in
clusterConfig.yaml, against the real registry (htpasswd over TLS) and the ChartMuseum test server.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from core.config import Secret, build_target_config, hide_url_credentials
from tests.cli_driver import archfuse
from tests.fixtures.chartservers import ChartMuseumTestServer
from tests.fixtures.registry import RegistryServer
from tests.test_import_registry import pkg, platforms_at

SECRET = "hunter2-Sekr1t"


def _url(server: RegistryServer, password: str) -> str:
    assert server.username is not None
    return f"https://{quote(server.username, safe='')}:{quote(password, safe='')}@{server.host}"


def _everything_written(state: Path) -> str:
    """Every file archfuse left in its state dir (journal, reports, scan cache), as text."""
    return "\n".join(p.read_bytes().decode("latin-1") for p in state.rglob("*") if p.is_file())


def test_build_target_config_takes_credentials_out_of_urls() -> None:
    config = build_target_config(
        f"https://admin:{SECRET}@registry.example.com:5000", chart_repo=f"https://charts:{SECRET}x@charts.example.com",
        env={},
    )
    assert config.registry_url == "https://registry.example.com:5000" and config.username == "admin"
    assert config.password == Secret(SECRET)
    assert config.chart_repo_url == "https://charts.example.com" and config.chart_username == "charts"
    assert config.chart_password == Secret(SECRET + "x")
    assert SECRET not in repr(config)
    flags_win = build_target_config(
        f"https://admin:{SECRET}@registry.example.com", username="robot", password="other", env={}
    )
    assert (flags_win.username, flags_win.password) == ("robot", Secret("other"))
    assert hide_url_credentials(f"oops https://admin:{SECRET}@h/x and oci://u:p@h2") == "oops https://h/x and oci://h2"


def test_password_in_registry_url_is_used_and_never_shown(
    tls_registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    assert tls_registry.password is not None
    url = _url(tls_registry, tls_registry.password)
    args = ["--registry", url, "--ca-cert", str(tls_registry.ca_path)]
    result = archfuse("import", amd, *args, "--yes", "--json", state_dir=state)
    assert result.code == 0, result.err
    written = {e["destination"].split("/", 1)[1] for e in result.of("image_done")}
    assert written and all("linux/amd64" in platforms_at(tls_registry, path) for path in written)
    assert tls_registry.password not in result.out + result.err + _everything_written(state)
    wrong = archfuse("plan", amd, "--registry", _url(tls_registry, SECRET), "--ca-cert", str(tls_registry.ca_path),
                     "--json", state_dir=state)
    assert wrong.code == 3 and SECRET not in wrong.out + wrong.err
    bad = archfuse("plan", amd, "--registry", _url(tls_registry, SECRET) + "/a/path", "--json", state_dir=state)
    assert bad.code == 2 and "has a path" in bad.err
    assert SECRET not in bad.out + bad.err and bad.last("error")["message"].count(SECRET) == 0


def test_password_in_chart_repo_url_is_used_and_never_shown(
    chartmuseum: ChartMuseumTestServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    host = chartmuseum.url.split("://", 1)[1]
    good = archfuse("plan", amd, "--registry", tmp_path / "layout", "--chart-repo", f"http://chartuser:chartpass@{host}",
                    "--chart-repo-type", "chartmuseum", "--json", state_dir=tmp_path / "state")
    assert good.code == 0, good.err + good.out
    assert "chartpass" not in good.out + good.err
    wrong = archfuse("plan", amd, "--registry", tmp_path / "layout", "--chart-repo", f"http://chartuser:{SECRET}@{host}",
                     "--chart-repo-type", "chartmuseum", "--json", state_dir=tmp_path / "state")
    assert wrong.code == 3 and SECRET not in wrong.out + wrong.err
    assert any(c["name"] == "chart destination" and c["status"] == "fail" for c in wrong.events[-1]["checks"])


def test_password_in_external_image_repo_of_cluster_config(
    tls_registry: RegistryServer, demo_packages: list[Path], tmp_path: Path
) -> None:
    assert tls_registry.password is not None
    config = tmp_path / "clusterConfig.yaml"
    config.write_text(
        "apiVersion: provision.daocloud.io/v1alpha3\nkind: ClusterConfig\nspec:\n  imagesAndCharts:\n"
        f"    type: external\n    externalImageRepo: '{_url(tls_registry, tls_registry.password)}'\n"
    )
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    good = archfuse("plan", amd, "-c", config, "--ca-cert", tls_registry.ca_path or "", "--json",
                    state_dir=tmp_path / "state")
    assert good.code == 0, good.err + good.out
    assert tls_registry.password not in good.out + good.err
    config.write_text(config.read_text().replace(quote(tls_registry.password, safe=""), SECRET))
    wrong = archfuse("plan", amd, "-c", config, "--ca-cert", tls_registry.ca_path or "", "--json",
                     state_dir=tmp_path / "state")
    assert wrong.code == 3 and SECRET not in wrong.out + wrong.err


#: a password holding every character that ends a URL's authority, and an ``@``
RESERVED = "p@ss/w?rd#Sekr1t"


def _reserved_urls(server: RegistryServer, password: str) -> list[str]:
    """The password as an engineer may type it: raw, and percent-encoded."""
    assert server.username is not None
    return [f"https://{server.username}:{password}@{server.host}", _url(server, password)]


def _never_shown(password: str, text: str) -> None:
    """Neither the password (raw or encoded) nor any tail of it a parser cutting at ``@/?#`` would leave."""
    tails = [password[i + 1 :] for i, char in enumerate(password) if char in "@/?#"]
    for piece in (password, quote(password, safe=""), *tails):
        assert piece not in text, piece


def test_build_target_config_reads_user_info_to_the_last_at() -> None:
    for typed in (RESERVED, quote(RESERVED, safe="")):
        config = build_target_config(
            f"https://admin:{typed}@registry.example.com:5000", chart_repo=f"oci://charts:{typed}@charts.example.com/lib",
            env={},
        )
        assert (config.registry_url, config.username, config.password) == (
            "https://registry.example.com:5000", "admin", Secret(RESERVED)
        )
        assert (config.chart_repo_url, config.chart_username, config.chart_password) == (
            "oci://charts.example.com/lib", "charts", Secret(RESERVED)
        )
    assert hide_url_credentials(f"in 'https://a:{RESERVED}@h/x?y' and https://h/a@b") == "in 'https://h/x?y' and https://h/a@b"


def test_a_password_with_reserved_characters_in_urls_is_used_and_never_shown(
    registry_factory: Callable[..., RegistryServer], demo_packages: list[Path], tmp_path: Path
) -> None:
    server = registry_factory(auth="htpasswd", tls=True, password=RESERVED)
    amd = pkg(demo_packages, "v0.11.0", "amd64")
    ca = ["--ca-cert", str(server.ca_path)]
    for url in _reserved_urls(server, RESERVED):
        for output in (["--json"], []):
            good = archfuse("plan", amd, "--registry", url, *ca, *output, state_dir=tmp_path / "state")
            assert good.code == 0, good.err + good.out
            _never_shown(RESERVED, good.out + good.err)
    wrong_password = "wr@ng/p?w#Sekr1t"
    for url in _reserved_urls(server, wrong_password):
        wrong = archfuse("plan", amd, "--registry", url, *ca, "--json", state_dir=tmp_path / "state")
        assert wrong.code == 3, wrong.err + wrong.out
        _never_shown(wrong_password, wrong.out + wrong.err)
        bad = archfuse("plan", amd, "--registry", url + ":99999", "--json", state_dir=tmp_path / "state")
        assert bad.code == 2 and "invalid port" in bad.err, bad.err
        _never_shown(wrong_password, bad.out + bad.err)
    config = tmp_path / "clusterConfig.yaml"
    config.write_text(
        "apiVersion: provision.daocloud.io/v1alpha3\nkind: ClusterConfig\nspec:\n  imagesAndCharts:\n"
        f"    type: external\n    externalImageRepo: '{_reserved_urls(server, RESERVED)[0]}'\n"
    )
    from_file = archfuse("plan", amd, "-c", config, *ca, state_dir=tmp_path / "state")
    assert from_file.code == 0, from_file.err + from_file.out
    _never_shown(RESERVED, from_file.out + from_file.err)
