"""Shared test setup. Fixtures live in tests/fixtures/*; they are plugged in here."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.packages",
    "tests.fixtures.registry",
    "tests.fixtures.chartservers",
    "tests.fixtures.harbor",
    "tests.fixtures.faultproxy",
    "tests.fixtures.imports",
]
