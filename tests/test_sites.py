"""Several targets: the sites file, a repeated --registry, and the CLI's targets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from core.config import Secret, TargetConfig
from core.errors import ConfigError
from core.targets.sites import load_sites, sites_base, sites_from_registries

BASE = TargetConfig(username="base-user", password=Secret("base-pw"), retry_for=7.0)


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_sites_file_gives_each_site_its_target_and_credentials(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EAST_PW", "east-secret")
    (tmp_path / "west.pw").write_text("west-secret\n")
    path = _file(tmp_path, """\
        sites:
          - name: east
            registry: https://east.example:5000
            username: robot
            password_env: EAST_PW
            prefix: mirror
          - name: west
            registry: http://west.example:5001
            username: w
            password_file: west.pw
            insecure: true
          - name: lab
            registry: oci:layout-dir
        """)
    east, west, lab = load_sites(path, BASE)
    assert (east.name, east.config.registry_url, east.config.username) == ("east", "https://east.example:5000", "robot")
    assert east.config.password is not None and east.config.password.reveal() == "east-secret"
    assert east.config.prefix == "mirror" and east.config.retry_for == 7.0
    assert west.config.password is not None and west.config.password.reveal() == "west-secret"
    assert west.config.insecure and not east.config.insecure
    assert lab.config.layout_path == Path("layout-dir") and lab.config.registry_url is None
    assert lab.config.username == "base-user"  # no credentials of its own: the base's


@pytest.mark.parametrize(("text", "words"), [
    ("sites:\n  - {name: a, registry: 'https://a.example', pasword: x}\n", "'pasword'"),
    ("sites:\n  - {name: a, registry: 'https://a.example'}\n  - {name: a, registry: 'https://b.example'}\n",
     "'a' is used twice"),
    ("sites:\n  - {name: a}\n", "sites[0].registry"),
    ("site:\n  - {name: a, registry: 'https://a.example'}\n", "'site'"),
    ("sites:\n  - {name: a, registry: 'https://a.example', password_env: NOT_SET_ANYWHERE_X}\n", "NOT_SET_ANYWHERE_X"),
])
def test_sites_file_mistakes_are_config_errors_naming_the_file_and_key(tmp_path: Path, text: str,
                                                                        words: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_sites(path, BASE)
    assert str(path) in str(err.value) and words in str(err.value)


def test_repeated_registries_are_sites_with_unique_names(tmp_path: Path) -> None:
    sites = sites_from_registries(
        ["https://r.example:5000", "https://r.example:5000", f"oci:{tmp_path / 'lay'}"], BASE)
    assert [s.name for s in sites] == ["r.example:5000", "r.example:5000-2", "lay"]
    assert sites[2].config.layout_path == tmp_path / "lay" and sites[0].config.username == "base-user"


def test_sites_base_takes_the_environment() -> None:
    base = sites_base(None, None, env={"ARCHFUSE_USERNAME": "u", "ARCHFUSE_PASSWORD": "p"})
    assert base.username == "u" and base.password is not None and base.password.reveal() == "p"
