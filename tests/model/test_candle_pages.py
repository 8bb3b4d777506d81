"""A page of a read-only candle array (a CSV file's) is judged as any page is, its array's figures worked out once."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workstation as ws
from workstation.clients import candle_data
from workstation.clients.candle_data import check_anomalies, check_page

T0 = 1704067200000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
PREFIX = "csv BTCUSDT 1m: "

PAGES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def read_only(rows: list[tuple[float, float, float, float, float]]) -> np.ndarray:
    candles = np.empty(len(rows), dtype=ws.CANDLE_DTYPE)
    for index, row in enumerate(rows):
        candles[index] = (T0 + index * MINUTE, *row)
    candles.flags.writeable = False
    return candles


Check = Callable[[np.ndarray, str, float, int], None]


def verdict(check: Check, page: np.ndarray, factor: float, min_for_median: int) -> str | None:
    try:
        check(page, PREFIX, factor, min_for_median)
    except ws.CandleAnomalyError as error:
        return str(error)
    return None


prices = st.floats(0.5, 2.0) | st.sampled_from([0.0, -1.0, 1e-7, math.nan, math.inf])


@PAGES
@given(
    st.lists(st.tuples(prices, prices, prices, prices, st.floats(0.0, 10.0) | st.just(-1.0)), min_size=1, max_size=30),
    st.integers(0, 29),
    st.integers(1, 30),
    st.sampled_from([1000.0, 2.0, 1.5, 1e6]),
    st.integers(1, 15),
)
def test_every_page_of_a_read_only_array_gets_the_verdict_of_a_full_check(
    rows: list[tuple[float, float, float, float, float]], first: int, length: int, factor: float, min_for_median: int
) -> None:
    candles = read_only(rows)
    page = candles[first : first + length]
    assert verdict(check_page, page, factor, min_for_median) == verdict(check_anomalies, page, factor, min_for_median)


def test_a_sound_array_is_looked_at_once_whatever_pages_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    candles = read_only([(100.0 + index, 102.0 + index, 99.0 + index, 101.0 + index, 5.0) for index in range(50)])
    checked: list[int] = []
    monkeypatch.setattr(candle_data, "check_anomalies", lambda page, *args: checked.append(len(page)))
    for first in range(0, 50, 10):
        check_page(candles[first : first + 10], PREFIX, 1000.0, 5)
    assert checked == []
    assert candle_data._OWNER_PRICES[id(candles)] == (True, 99.0, 151.0)
    writable = candles.copy()
    check_page(writable[:10], PREFIX, 1000.0, 5)  # a page anyone may change is checked as it comes
    assert checked == [10]


def test_a_zero_price_in_a_read_only_array_is_refused_naming_its_candle_as_before() -> None:
    rows = [(100.0, 101.0, 99.0, 100.0, 1.0)] * 20
    rows[13] = (100.0, 101.0, 0.0, 100.0, 1.0)
    candles = read_only(rows)
    assert verdict(check_page, candles[:10], 1000.0, 5) is None
    with pytest.raises(ws.CandleAnomalyError) as caught:
        check_page(candles[10:20], PREFIX, 1000.0, 5)
    assert str(caught.value) == f"{PREFIX}candle[3] at 2024-01-01T00:13:00.000Z has zero or negative values"
