"""Shared test setup. Fixtures live in tests/fixtures/*; they are plugged in here."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.fixtures.packages",
    "tests.fixtures.registry",
    "tests.fixtures.chartservers",
    "tests.fixtures.harbor",
    "tests.fixtures.faultproxy",
    "tests.fixtures.imports",
    "tests.fixtures.helm",
]


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
