"""The look-ups around each strategy call: the same values as before, served without copies (issue 17)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import numpy as np
import pytest

import workstation as ws
from workstation.clients.candle_cache import CandleCache
from workstation.clients.exchange import ClientExchange
from workstation.models.candles import CANDLE_DTYPE
from workstation.timeutil import MINUTE_MS, Moments, from_ms

START = 1_704_067_200_000
NOW_2030 = 1_893_456_000_000


def minutes(count: int) -> np.ndarray:
    """``count`` read-only 1m candles from START with uneven prices and volumes."""
    candles = np.zeros(count, dtype=CANDLE_DTYPE)
    index = np.arange(count)
    candles["timestamp"] = START + MINUTE_MS * index
    candles["open"] = 100.0 + index * 0.37
    candles["high"] = candles["open"] + 1.3
    candles["low"] = candles["open"] - 0.7
    candles["close"] = candles["open"] + 0.1
    candles["volume"] = 1.0 + index % 7
    candles.flags.writeable = False
    return candles


def test_moments_give_from_ms_for_even_and_uneven_steps() -> None:
    moments = Moments()
    stamps = [0, 300_000, 600_000, START, START + 300_000, START + 600_000, START + 660_000, START + 660_000, START]
    for stamp in stamps:
        moment = moments.at(stamp)
        assert moment == from_ms(stamp)
        assert moment.tzinfo is UTC
    assert moments.at(START + 300_123) == datetime(2024, 1, 1, 0, 5, 0, 123_000, tzinfo=UTC)


@pytest.mark.parametrize("shared", [True, False])
def test_a_window_is_a_read_only_view_nobody_can_make_writeable(shared: bool) -> None:
    owner = minutes(2000)
    cache = CandleCache(MINUTE_MS)
    cache.insert(owner[0:1000] if shared else owner[0:1000].copy())
    segment = cache.find(START)
    assert segment is not None
    window = segment.window(10, 55)
    assert window["timestamp"][[0, 54]].tolist() == [START + 10 * MINUTE_MS, START + 64 * MINUTE_MS]
    assert np.shares_memory(window, owner) is shared
    assert not window.flags.writeable
    with pytest.raises(ValueError):
        window.flags.writeable = True


def test_one_vwap_value_is_the_series_value_inside_and_past_the_computed_part() -> None:
    cache = CandleCache(MINUTE_MS)
    cache.insert(minutes(3000))
    segment = cache.find(START)
    assert segment is not None
    series = segment.vwap(5).copy()
    fresh = CandleCache(MINUTE_MS)
    fresh.insert(minutes(3000))
    other = fresh.find(START)
    assert other is not None
    for index in (4, 5, 999, 2999, 1500):
        assert other.vwap_at(5, index) == float(series[index])


def test_cached_average_price_and_has_prices_answer_only_from_candles_already_read() -> None:
    candles = minutes(3000)

    def get_candles(symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        start = (int(since.timestamp() * 1000) - START) // MINUTE_MS
        return candles[start : start + limit]

    schema = ws.ExchangeSchema(exchange_name="lookups", get_candles=get_candles)
    client = ClientExchange(schema, backtest=True, now_ms=lambda: NOW_2030, on_callback_error=lambda _s, _e: None)
    config = ws.Config(max_candles_per_request=1000)
    when = START + 100 * MINUTE_MS + 30_000
    assert client.cached_average_price("BTCUSDT", when, config) is None
    assert not client.has_prices("BTCUSDT", when, when, config)
    price = asyncio.run(client.get_average_price("BTCUSDT", when, config))
    window = candles[100 - config.avg_price_candles_count : 100]
    typical = (window["high"] + window["low"] + window["close"]) / 3
    expected = 0.0
    volume = 0.0
    for value, weight in zip(typical.tolist(), window["volume"].tolist(), strict=True):
        expected += value * weight
        volume += weight
    assert price == expected / volume
    assert client.cached_average_price("BTCUSDT", when, config) == price
    # The read began 5 minutes before ``when`` and read ahead a whole request: candles 95 to 1094 are held.
    assert client.has_prices("BTCUSDT", when, START + 1095 * MINUTE_MS, config)
    assert not client.has_prices("BTCUSDT", when, START + 1096 * MINUTE_MS, config)
    # The last tick `has_prices` holds for, from ``when`` on; none from before the read's first candle.
    assert client.prices_held_until("BTCUSDT", when, config) == START + 1096 * MINUTE_MS - 1
    assert client.prices_held_until("BTCUSDT", START + 99 * MINUTE_MS, config) == -1


def test_cached_candles_serve_the_window_get_candles_returns_once_read() -> None:
    candles = minutes(3000)

    def get_candles(symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        start = (int(since.timestamp() * 1000) - START) // MINUTE_MS
        return candles[start : start + limit]

    schema = ws.ExchangeSchema(exchange_name="windows", get_candles=get_candles)
    client = ClientExchange(schema, backtest=True, now_ms=lambda: NOW_2030, on_callback_error=lambda _s, _e: None)
    config = ws.Config(max_candles_per_request=1000)
    when = START + 200 * MINUTE_MS + 59_999
    assert client.cached_candles("BTCUSDT", "1m", 55, when) is None
    window = asyncio.run(client.get_candles("BTCUSDT", "1m", 55, when, config))
    assert window["timestamp"][[0, 54]].tolist() == [START + 145 * MINUTE_MS, START + 199 * MINUTE_MS]
    cached = client.cached_candles("BTCUSDT", "1m", 55, when)
    assert cached is not None
    assert cached.tolist() == window.tolist()
    assert np.shares_memory(cached, candles)
    assert not cached.flags.writeable
