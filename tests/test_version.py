"""The version is written once (core.__version__); the installed metadata and the CLI agree with it."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata

import core


def test_version_is_one_release_number() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", core.__version__)


def test_installed_metadata_reads_the_version_from_core() -> None:
    assert metadata.version("archfuse") == core.__version__


def test_archfuse_version_prints_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == f"archfuse {core.__version__}"
