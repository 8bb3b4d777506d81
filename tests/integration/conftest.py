"""Fixtures of the integration tests that look at what the workstation writes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest


@pytest.fixture
def debug_log() -> Iterator[Path]:
    """Capture every record of every logger at DEBUG level into a file in the user log folder, as a user debugging
    the app would (the folder is inside the test's tmp_path)."""
    path = Path(platformdirs.user_log_dir("workstation")) / "debug.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()
