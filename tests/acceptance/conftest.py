"""Acceptance tests: every scenario runs with instant exchange retries (SPEC §19 "Fixtures")."""

from __future__ import annotations

import pytest

import workstation as ws


@pytest.fixture(autouse=True)
def _instant_retries(_pristine_engine: None) -> None:
    """Set ``get_candles_retry_delay_ms=0`` after the engine reset of ``tests/conftest.py``."""
    ws.set_config(get_candles_retry_delay_ms=0)
