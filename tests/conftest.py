"""Shared test setup. Fixtures live in tests/fixtures/*; they are plugged in here.

The tests come in layers, marked here from what each test uses (nobody writes the marks by hand):

- ``registry`` a real CNCF distribution registry (tests/fixtures/registry.py);
- ``server``   a test server on loopback: Harbor, ChartMuseum, the fault proxy, a delay line, an HTTP
               server of the test's own;
- ``cli``      a process: the ``archfuse`` CLI (tests/cli_driver.py), skopeo, a Python worker;
- ``helm``     a real Helm client (tests/fixtures/helm.py);
- ``tui``      the Textual pilot or a snapshot (tests/tui_support.py, ``snap_compare``);
- ``unit``     none of these: ``pytest -m unit`` is the fast layer, and a unit test that starts a
               process or listens on a socket fails (see ``_unit_starts_nothing``).

What a test uses is read from its fixture closure and from the code it runs: the test function and
the fixtures written in tests/, followed into the helpers of tests/ they name.
"""

from __future__ import annotations

import os
import socket
import socketserver
import subprocess
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.cli_driver", "tests.fixtures")  # the imports below come before pytest_plugins would rewrite them

from textual.app import App  # noqa: E402

from tests import cli_driver  # noqa: E402
from tests.fixtures import chartservers, delayline, faultproxy, harbor, helm, registry  # noqa: E402

pytest_plugins = [
    "tests.fixtures.packages",
    "tests.fixtures.registry",
    "tests.fixtures.chartservers",
    "tests.fixtures.harbor",
    "tests.fixtures.faultproxy",
    "tests.fixtures.imports",
    "tests.fixtures.replication_pair",
    "tests.fixtures.helm",
]

LAYERS = ("registry", "server", "cli", "helm", "tui")

# fixtures that bring a layer with them (and any fixture that depends on one: the closure has both);
# a parameter that names one of these is taken as used (``request.getfixturevalue(param)``)
FIXTURE_LAYERS = {
    "registry_factory": "registry",
    "registry": "registry",
    "tls_registry": "registry",
    "token_registry": "registry",
    "session_registry": "registry",
    "harbor_registry": "registry",
    "chartmuseum": "server",
    "harbor_chartrepo": "server",
    "harbor_factory": "server",
    "fault_proxy": "server",
    "helm": "helm",
    "snap_compare": "tui",
}

# what a test's code may name, and the layer it brings
USES: dict[Any, str] = {
    registry.RegistryServer: "registry",
    harbor.HarborTestServer: "server",
    chartservers.ChartMuseumTestServer: "server",
    chartservers.HarborChartRepoTestServer: "server",
    faultproxy.FaultProxy: "server",
    delayline.DelayLine: "server",
    socketserver: "server",
    helm.Helm: "helm",
    cli_driver.archfuse: "cli",
    cli_driver.at_terminal: "cli",
    subprocess: "cli",
}


def _layer_of(value: Any) -> str | None:
    """The layer a value a test names brings by itself, if any."""
    try:
        if value in USES:
            return USES[value]
    except TypeError:  # unhashable
        return None
    if isinstance(value, type):
        if issubclass(value, socketserver.BaseServer):
            return "server"
        if issubclass(value, App):
            return "tui"
    return None


def _ours(value: Any) -> bool:
    """Code of tests/ (this module's own fixtures aside: the guard below names what it refuses)."""
    module = getattr(value, "__module__", None) or ""
    return module.startswith("tests.") and module != __name__


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    """A code object and the ones nested in it (inner functions, lambdas, comprehensions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def reached_layers(roots: Iterable[Any], namespace: Any = None) -> set[str]:
    """The layers the code of ``roots`` reaches: what it names, followed into tests/' own helpers."""
    layers: set[str] = set()
    seen: set[int] = set()
    todo = [(root, namespace) for root in roots]
    while todo:
        value, owner = todo.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        layer = _layer_of(value)
        if layer is not None:
            layers.add(layer)
            continue
        if isinstance(value, type) and _ours(value):
            todo += [(member, value) for member in vars(value).values()]
            continue
        value = getattr(value, "__func__", value)  # static and class methods
        code = getattr(value, "__code__", None)
        if code is None or not _ours(value):
            continue
        scope: dict[str, Any] = {**vars(owner)} if isinstance(owner, type) else {}
        scope.update(value.__globals__)
        for part in _codes(code):
            # an import inside a function names its module in co_names, then the names taken from it
            modules = [sys.modules[name] for name in part.co_names if name in sys.modules]
            for name in part.co_names:
                for module in modules:
                    if hasattr(module, name):
                        todo.append((getattr(module, name), owner))
                if name in scope:
                    todo.append((scope[name], owner))
            todo += [(module, owner) for module in modules]
    return layers


def layers_of(item: pytest.Item) -> set[str]:
    """The layers a collected test belongs to (empty: a unit test).

    A layer the code of tests/ cannot show (a process the engine starts) is marked by hand.
    """
    layers = {mark.name for mark in item.iter_markers() if mark.name in LAYERS}
    callspec = getattr(item, "callspec", None)
    params = [value for value in callspec.params.values() if isinstance(value, str)] if callspec else []
    names = [*getattr(item, "fixturenames", ()), *params]
    layers |= {FIXTURE_LAYERS[name] for name in names if name in FIXTURE_LAYERS}
    info = getattr(item, "_fixtureinfo", None)
    fixture_funcs = [
        definition.func
        for definitions in (info.name2fixturedefs.values() if info is not None else ())
        for definition in definitions
    ]
    return layers | reached_layers([getattr(item, "function", None), *fixture_funcs], getattr(item, "cls", None))


@pytest.hookimpl(tryfirst=True)  # before -m deselects by these marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layers = layers_of(item)
        for layer in sorted(layers) or ["unit"]:
            item.add_marker(layer)


def _refuse(what: str) -> Any:
    def refused(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError(
            f"a unit test {what}: the test needs a layer marker (tests/conftest.py: USES, FIXTURE_LAYERS)"
        )

    return refused


@pytest.fixture(autouse=True)
def _unit_starts_nothing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that starts a process or a server fails loudly, so the fast layer stays fast."""
    if request.node.get_closest_marker("unit") is None:
        return
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("started a process"))
    monkeypatch.setattr(socket.socket, "listen", _refuse("listened on a socket"))


@pytest.fixture(autouse=True, scope="session")
def _private_lock_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run locks live in a host-wide directory; a test session (and its subprocesses) gets its own."""
    before = os.environ.get("ARCHFUSE_LOCK_DIR")
    os.environ["ARCHFUSE_LOCK_DIR"] = str(tmp_path_factory.mktemp("locks"))
    yield
    if before is None:
        os.environ.pop("ARCHFUSE_LOCK_DIR", None)
    else:
        os.environ["ARCHFUSE_LOCK_DIR"] = before
