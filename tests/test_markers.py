"""The test layers: marks follow what a test uses, and a unit test that starts a server fails."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli_driver import archfuse
from tests.conftest import reached_layers
from tests.fixtures.chartservers import ChartMuseumTestServer
from tests.fixtures.registry import RegistryServer, skopeo
from tests.tui_support import make_app


def _runs_the_cli(tmp_path: Path) -> None:
    archfuse("--version", state_dir=tmp_path)


def _checks_with_skopeo() -> None:
    skopeo("--version")


def _starts_chartmuseum() -> None:
    ChartMuseumTestServer("user", "password").stop()


def _starts_a_registry(tmp_path: Path) -> None:
    RegistryServer(tmp_path).start()


def _drives_the_app() -> None:
    make_app()


def _helper_of_a_helper(tmp_path: Path) -> None:
    _runs_the_cli(tmp_path)


def _imports_the_cli_inside(tmp_path: Path) -> None:
    from tests.cli_driver import archfuse as run

    run("--version", state_dir=tmp_path)


def _reads_a_file(tmp_path: Path) -> str:
    return (tmp_path / "x").read_text()


# in a dict, so the tests below do not name (and so use) them
SAMPLES: dict[str, tuple[Callable[..., Any], set[str]]] = {
    "the CLI": (_runs_the_cli, {"cli"}),
    "skopeo": (_checks_with_skopeo, {"cli"}),
    "a test server": (_starts_chartmuseum, {"server"}),
    "a registry": (_starts_a_registry, {"registry"}),
    "the Textual app": (_drives_the_app, {"tui"}),
    "a helper's helper": (_helper_of_a_helper, {"cli"}),
    "an import in the function": (_imports_the_cli_inside, {"cli"}),
    "nothing": (_reads_a_file, set()),
}


@pytest.mark.parametrize("sample", SAMPLES)
def test_a_test_is_in_the_layers_of_what_its_code_uses(sample: str) -> None:
    code, layers = SAMPLES[sample]
    assert reached_layers([code]) == layers


def test_this_module_is_in_the_unit_layer(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None


def test_a_unit_test_that_listens_on_a_socket_fails() -> None:
    with socket.socket() as sock, pytest.raises(AssertionError, match="a unit test listened on a socket"):
        sock.bind(("127.0.0.1", 0))
        sock.listen()


def test_a_unit_test_that_starts_a_process_fails() -> None:
    with pytest.raises(AssertionError, match="a unit test started a process"):
        os.popen("true")
