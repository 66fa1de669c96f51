"""Shared test setup. Fixtures live in tests/fixtures/*; they are plugged in here."""

pytest_plugins = [
    "tests.fixtures.packages",
    "tests.fixtures.registry",
    "tests.fixtures.chartservers",
    "tests.fixtures.harbor",
    "tests.fixtures.faultproxy",
    "tests.fixtures.imports",
    "tests.fixtures.helm",
]
