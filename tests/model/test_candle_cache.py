"""The candle cache holds a file's read-only candles once, and copies everything it cannot trust."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.clients.candle_cache import CandleCache
from workstation.clients.candle_data import normalise_candles
from workstation.models.candles import CANDLE_DTYPE
from workstation.timeutil import MINUTE_MS

START = 1_704_067_200_000


def minutes(count: int, *, first_close: float = 100.0, read_only: bool = True) -> np.ndarray:
    """``count`` 1m candles from START whose close is ``first_close + index``."""
    candles = np.zeros(count, dtype=CANDLE_DTYPE)
    candles["timestamp"] = START + MINUTE_MS * np.arange(count)
    for name in ("open", "high", "low", "close"):
        candles[name] = first_close + np.arange(count)
    candles["volume"] = 1.0
    candles.flags.writeable = not read_only
    return candles


def test_consecutive_views_of_a_read_only_array_are_cached_without_a_copy() -> None:
    owner = minutes(3000)
    cache = CandleCache(MINUTE_MS)
    cache.insert(owner[0:1000])
    cache.insert(owner[1000:2000])
    cache.insert(owner[2000:2500])
    segment = cache.find(START)
    assert segment is not None
    assert segment.length == 2500
    assert np.shares_memory(segment.candles, owner)
    assert segment.candles["close"][[0, 999, 1000, 2499]].tolist() == [100.0, 1099.0, 1100.0, 2599.0]


def test_an_earlier_view_merges_with_a_shared_segment_without_a_copy() -> None:
    owner = minutes(3000)
    cache = CandleCache(MINUTE_MS)
    cache.insert(owner[100:1100])
    cache.insert(owner[50:150])
    segment = cache.find(START + 50 * MINUTE_MS)
    assert segment is not None
    assert (segment.start, segment.length) == (START + 50 * MINUTE_MS, 1050)
    assert np.shares_memory(segment.candles, owner)
    assert segment.candles["close"][[0, 1049]].tolist() == [150.0, 1199.0]


def test_a_writable_owner_is_copied_so_later_writes_do_not_reach_the_cache() -> None:
    owner = minutes(2000, read_only=False)
    view = owner[0:1000]
    view.flags.writeable = False  # a read-only view does not protect a writable owner
    cache = CandleCache(MINUTE_MS)
    cache.insert(view)
    owner["close"][0] = -1.0
    segment = cache.find(START)
    assert segment is not None
    assert not np.shares_memory(segment.candles, owner)
    assert segment.candles["close"][0] == 100.0


def test_an_append_from_another_array_unshares_and_keeps_every_candle() -> None:
    owner = minutes(1000)
    later = minutes(2000, first_close=5000.0)[1000:1500]
    cache = CandleCache(MINUTE_MS)
    cache.insert(owner)
    cache.insert(later)
    segment = cache.find(START)
    assert segment is not None
    assert segment.length == 1500
    assert not np.shares_memory(segment.candles, owner)
    assert segment.candles["close"][[0, 999, 1000, 1499]].tolist() == [100.0, 1099.0, 6000.0, 6499.0]


def test_a_gap_between_two_views_of_one_owner_keeps_two_segments() -> None:
    owner = minutes(3000)
    cache = CandleCache(MINUTE_MS)
    cache.insert(owner[0:1000])
    cache.insert(owner[1500:2000])
    first, second = cache.find(START), cache.find(START + 1500 * MINUTE_MS)
    assert first is not None and second is not None and first is not second
    assert cache.find(START + 1200 * MINUTE_MS) is None
    assert (first.length, second.length) == (1000, 500)


def test_normalise_returns_a_clean_candle_array_itself() -> None:
    candles = minutes(10)
    assert normalise_candles(candles, "x", START, START + 10 * MINUTE_MS, "") is candles


@pytest.mark.parametrize(
    ("order", "since", "end", "expected_closes"),
    [
        ([2, 0, 1], START, START + 3 * MINUTE_MS, [100.0, 101.0, 102.0]),
        ([0, 1, 2], START + MINUTE_MS, START + 3 * MINUTE_MS, [101.0, 102.0]),
        ([0, 0, 1], START, START + 3 * MINUTE_MS, [100.0, 101.0]),
    ],
    ids=["unsorted", "outside-window", "duplicated"],
)
def test_normalise_still_cleans_a_candle_array_that_needs_it(
    order: list[int], since: int, end: int, expected_closes: list[float]
) -> None:
    candles = minutes(3)[order]
    normalised = normalise_candles(candles, "x", since, end, "")
    assert normalised is not candles
    assert normalised["close"].tolist() == expected_closes


def test_expecting_a_longer_range_gives_a_held_segment_its_room_at_once() -> None:
    """Candles read for a chart (a full buffer of 1100), then a backtest announcing reads 50 minutes further: the
    buffer grows once, now, and the later appends up to that length keep it (no copy at the end of the run)."""
    cache = CandleCache(MINUTE_MS)
    cache.insert(minutes(1100, read_only=False))
    segment = cache.find(START)
    assert segment is not None

    cache.expect(START, START + 1150 * MINUTE_MS)
    buffer = segment.candles.base
    assert buffer is not None and len(buffer) == 1150
    cache.insert(minutes(1150, read_only=False)[1100:])

    assert segment.length == 1150
    assert segment.candles.base is buffer
    assert segment.candles["close"].tolist() == minutes(1150)["close"].tolist()


def test_expecting_less_than_a_segment_holds_changes_nothing() -> None:
    cache = CandleCache(MINUTE_MS)
    cache.insert(minutes(1100, read_only=False))
    segment = cache.find(START)
    assert segment is not None
    buffer = segment.candles.base

    cache.expect(START, START + 500 * MINUTE_MS)

    assert segment.candles.base is buffer


def test_vwap_grows_a_block_at_a_time_with_the_same_values_as_in_one_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """With blocks of 100 candles, asking for index 150 computes 151 values (at least a block); asking for less
    recomputes nothing, asking for all extends it;
    every value equals the VWAP computed over all 1000 candles at once (windows are summed on their own)."""
    from workstation.clients import candle_cache
    from workstation.clients.candle_data import vwap_series

    monkeypatch.setattr(candle_cache, "_VWAP_BLOCK", 100)
    candles = minutes(1000)
    candles = candles.copy()
    candles["volume"] = 1.0 + (np.arange(1000) % 7)
    cache = CandleCache(MINUTE_MS)
    cache.insert(candles)
    segment = cache.find(START)
    assert segment is not None

    assert len(segment.vwap(5, 151)) == 151
    assert len(segment.vwap(5, 10)) == 151  # already known: nothing recomputed
    assert len(segment.vwap(5, 160)) == 251  # a block past what was known
    whole = segment.vwap(5)

    assert len(whole) == 1000
    assert np.isnan(whole[:4]).all()
    assert whole[4:].tolist() == vwap_series(candles, 5).tolist()
