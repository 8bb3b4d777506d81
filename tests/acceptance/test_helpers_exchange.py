"""SPEC §19.1 C1-C8: strategy helpers, candle visibility, VWAP, anomaly checks, retries, chunking, windows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from data_paths import BTC_1D_CSV

import workstation as ws

from .fixtures import (
    MINUTE,
    Recorder,
    add_frame,
    add_ladder_exchange,
    add_strategy,
    at,
    collect,
    counted,
    hm,
    signal,
    ts,
)
from .fixtures import L as SIGNAL_L


def _observe_btc_1d(start: tuple[int, int], end: tuple[int, int], observe: Any) -> Any:
    """Run a 1m strategy over the peer's ``btc_1d.csv`` from ``start`` to ``end`` (h, m); ``observe`` is its body."""
    ws.add_exchange(ws.make_csv_exchange("csv-exchange", BTC_1D_CSV))
    ws.add_frame(
        frame_name="window",
        interval="1m",
        start_date=datetime(2024, 1, 1, *start, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, *end, tzinfo=UTC),
    )
    get_signal = counted(observe)
    ws.add_strategy(strategy_name="probe", interval="1m", get_signal=get_signal)
    errors = Recorder("error")
    results = asyncio.run(collect(strategy_name="probe", exchange_name="csv-exchange", frame_name="window"))
    assert results == []
    assert errors["error"] == []
    return get_signal


def _windows_btc_1d() -> dict[int, dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}

    async def observe(symbol: str, when: datetime) -> None:
        row: dict[str, Any] = {}
        for interval in ("1m", "5m", "15m", "1h"):
            candles = await ws.get_candles(symbol, interval, 3)
            row[interval] = [int(t) for t in candles["timestamp"]]
        row["avg"] = await ws.get_average_price(symbol)
        seen[int(when.timestamp() * 1000)] = row

    get_signal = _observe_btc_1d((10, 0), (10, 7), observe)
    assert get_signal.calls == 8
    return seen


def test_c1_helper_windows_on_btc_1d() -> None:
    seen = _windows_btc_1d()
    expected = {
        hm(10, 0): {
            "1m": [hm(9, 57), hm(9, 58), hm(9, 59)],
            "5m": [hm(9, 45), hm(9, 50), hm(9, 55)],
            "15m": [hm(9, 15), hm(9, 30), hm(9, 45)],
            "1h": [hm(7, 0), hm(8, 0), hm(9, 0)],
        },
        hm(10, 3): {
            "1m": [hm(10, 0), hm(10, 1), hm(10, 2)],
            "5m": [hm(9, 45), hm(9, 50), hm(9, 55)],
            "15m": [hm(9, 15), hm(9, 30), hm(9, 45)],
            "1h": [hm(7, 0), hm(8, 0), hm(9, 0)],
        },
        hm(10, 5): {
            "1m": [hm(10, 2), hm(10, 3), hm(10, 4)],
            "5m": [hm(9, 50), hm(9, 55), hm(10, 0)],
            "15m": [hm(9, 15), hm(9, 30), hm(9, 45)],
            "1h": [hm(7, 0), hm(8, 0), hm(9, 0)],
        },
    }
    for when, windows in expected.items():
        for interval, open_times in windows.items():
            assert seen[when][interval] == open_times, (when, interval)


def test_c2_average_price_on_btc_1d() -> None:
    seen = _windows_btc_1d()
    assert seen[hm(10, 0)]["avg"] == 41063.67614855102
    assert seen[hm(10, 3)]["avg"] == 41044.825284875296
    assert seen[hm(10, 5)]["avg"] == 41015.07547181493


def test_c3_first_tick_sees_55_closed_candles() -> None:
    seen: list[Any] = []

    async def observe(symbol: str, when: datetime) -> None:
        if not seen:
            seen.append(await ws.get_candles(symbol, "1m", 55))

    _observe_btc_1d((1, 0), (1, 2), observe)
    candles = seen[0]
    assert candles.dtype == ws.CANDLE_DTYPE
    assert len(candles) == 55
    assert int(candles["timestamp"][0]) == 1704067500000
    assert int(candles["timestamp"][-1]) == 1704070740000
    assert list(candles["timestamp"]) == [1704067500000 + k * MINUTE for k in range(55)]


def test_c4_helpers_only_inside_get_signal() -> None:
    async def call_async(name: str) -> Any:
        if name == "get_candles":
            return await ws.get_candles("BTCUSDT", "1m", 5)
        if name == "get_average_price":
            return await ws.get_average_price("BTCUSDT")
        if name == "format_price":
            return await ws.format_price("BTCUSDT", 1.0)
        return await ws.format_quantity("BTCUSDT", 1.0)

    # In the test body.
    for name in ("get_candles", "get_average_price", "format_price", "format_quantity"):
        with pytest.raises(ws.ContextError) as outside:
            asyncio.run(call_async(name))
        assert str(outside.value) == f"{name}() is only available inside get_signal and strategy callbacks"
        assert isinstance(outside.value, RuntimeError)
    for name in ("get_date", "get_mode"):
        with pytest.raises(ws.ContextError) as outside:
            getattr(ws, name)()
        assert str(outside.value) == f"{name}() is only available inside get_signal and strategy callbacks"

    # In a listener they raise (the exceptions are recorded: they must not reach the engine); in a strategy callback
    # they work at the callback's time, as in backtest-kit 19.5 (SPEC-position P2, P21).
    caught: list[tuple[str, str]] = []
    in_callback: list[tuple[str, datetime]] = []

    def listener(result: Any) -> None:
        try:
            ws.get_date()
        except ws.ContextError as e:
            caught.append(("listener", str(e)))

    def on_open(symbol: str, row: Any, current_price: float, when: datetime, backtest: bool) -> None:
        in_callback.append((ws.get_mode(), ws.get_date()))

    # Inside get_signal at the tick 00:10.
    inside: dict[str, Any] = {}

    async def get_signal(symbol: str, when: datetime) -> Any:
        if inside:
            return None
        inside["date"] = ws.get_date()
        inside["mode"] = ws.get_mode()
        inside["when"] = when
        inside["price"] = await ws.format_price(symbol, 42000.123456789)
        inside["quantity"] = await ws.format_quantity(symbol, 0.123456789)
        inside["candles"] = len(await ws.get_candles(symbol, "1m", 5))
        return signal(SIGNAL_L)

    add_ladder_exchange(steps={20: 42500})
    add_frame()
    add_strategy(counted(get_signal), callbacks={"on_open": on_open})
    ws.listen_signal_backtest(listener)
    results = asyncio.run(collect())

    assert [r.action for r in results] == ["opened", "closed"]
    assert ("listener", "get_date() is only available inside get_signal and strategy callbacks") in caught
    assert in_callback == [("backtest", datetime(2024, 1, 1, 0, 10, tzinfo=UTC))]
    assert inside["date"] == datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    assert inside["date"].tzinfo is not None
    assert inside["when"] == datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    assert inside["mode"] == "backtest"
    assert inside["price"] == "42000.12345679"
    assert inside["quantity"] == "0.12345679"
    assert inside["candles"] == 5


def test_c5_vwap_with_zero_volume_is_the_mean_of_closes() -> None:
    ws.set_config(avg_price_candles_count=3)
    seen: list[float] = []

    async def get_signal(symbol: str, when: datetime) -> None:
        seen.append(await ws.get_average_price(symbol))

    add_ladder_exchange(steps={8: 42010.0, 9: 42020.0, 10: 42000.0}, volume=0.0)
    add_frame(10, 10)
    add_strategy(counted(get_signal))
    errors = Recorder("error")
    asyncio.run(collect())
    assert errors["error"] == []
    assert seen == [42010.0]


ANOMALY = (
    "ladder BTCUSDT 1m: candle[3] at 2024-01-01T00:08:00.000Z has anomalously low price. "
    "OHLC: [42000.0, 42010.0, 0.1, 42000.0], reference: 42000.0, threshold: 42.0"
)


def test_c6_anomalously_low_price_fails_after_three_attempts() -> None:
    exchange = add_ladder_exchange(wicks={8: (42010.0, 0.1)})
    add_frame()
    seen: list[Any] = []

    async def get_signal(symbol: str, when: datetime) -> None:
        seen.append(await ws.get_candles(symbol, "1m", 5))

    add_strategy(counted(get_signal))
    errors = Recorder("error")

    with pytest.raises(ws.CandleAnomalyError) as anomaly:
        asyncio.run(collect())
    assert str(anomaly.value) == ANOMALY
    assert isinstance(anomaly.value, ValueError)
    assert len(exchange.calls) == 3
    assert seen == []
    assert [(e.source, e.message, e.exception_type) for e in errors["error"]] == [
        ("Backtest.run", ANOMALY, "CandleAnomalyError")
    ]


def test_c7_retries_then_success() -> None:
    exchange = add_ladder_exchange(fail_first=2)
    add_frame(10, 10)
    seen: list[Any] = []

    async def get_signal(symbol: str, when: datetime) -> None:
        seen.append(await ws.get_candles(symbol, "1m", 5))

    add_strategy(counted(get_signal))
    errors = Recorder("error")
    asyncio.run(collect())

    assert len(exchange.calls) == 3
    first = exchange.calls[0]
    assert all(
        (c.symbol, c.interval, c.since, c.limit) == (first.symbol, "1m", first.since, first.limit)
        for c in exchange.calls
    )
    assert first.since == at(5)
    assert errors["error"] == []
    assert len(seen) == 1
    assert list(seen[0]["timestamp"]) == [ts(5), ts(6), ts(7), ts(8), ts(9)]
    assert list(seen[0]["close"]) == [42000.0] * 5


def test_c7_retry_count_two_raises_the_second_error() -> None:
    ws.set_config(get_candles_retry_count=2)
    exchange = add_ladder_exchange(fail_first=2)
    add_frame(10, 10)
    add_strategy(counted(lambda symbol, when: None))
    errors = Recorder("error")

    with pytest.raises(RuntimeError) as failure:
        asyncio.run(collect())
    assert str(failure.value) == "fail 2"
    assert len(exchange.calls) == 2
    assert [(e.source, e.message) for e in errors["error"]] == [("Backtest.run", "fail 2")]


def test_c7_large_window_is_chunked() -> None:
    assert ws.get_config().max_candles_per_request == 1000
    exchange = add_ladder_exchange(count=3000)
    add_frame(2600, 2600)
    seen: list[Any] = []

    async def get_signal(symbol: str, when: datetime) -> None:
        seen.append(await ws.get_candles(symbol, "1m", 2500))

    add_strategy(counted(get_signal))
    errors = Recorder("error")
    asyncio.run(collect())

    assert errors["error"] == []
    candles = seen[0]
    assert len(candles) == 2500
    assert list(candles["timestamp"]) == [ts(100 + k) for k in range(2500)]
    assert exchange.calls
    assert max(c.limit for c in exchange.calls) <= 1000


WINDOW = (
    "ladder BTCUSDT 1m: expected 5 candles from 2024-01-01T00:05:00.000Z, got 4 "
    "(first missing: 2024-01-01T00:07:00.000Z)"
)


def test_c8_incomplete_window_is_an_error() -> None:
    exchange = add_ladder_exchange(drop=(7,))
    add_frame()
    add_strategy(counted(lambda symbol, when: None))
    errors = Recorder("error")

    with pytest.raises(ws.CandleWindowError) as window:
        asyncio.run(collect())
    assert str(window.value) == WINDOW
    assert isinstance(window.value, ValueError)
    assert exchange.calls[0].since == at(5)
    assert [(e.source, e.message) for e in errors["error"]] == [("Backtest.run", WINDOW)]


def test_c6_anomaly_in_the_helper_window_is_reported_from_get_signal() -> None:
    # With N = 1 the current price at 00:10 needs candle 9 only; the helper window 00:05..00:09 holds the anomaly.
    ws.set_config(avg_price_candles_count=1)
    exchange = add_ladder_exchange(wicks={8: (42010.0, 0.1)})
    add_frame()
    helper_calls: list[int] = []
    raised: list[BaseException] = []

    async def get_signal(symbol: str, when: datetime) -> None:
        if when != at(10):
            return
        before = len(exchange.calls)
        try:
            await ws.get_candles(symbol, "1m", 5)
        except Exception as e:
            raised.append(e)
            helper_calls.append(len(exchange.calls) - before)
            raise

    strategy = counted(get_signal)
    add_strategy(strategy)
    errors = Recorder("error")
    results = asyncio.run(collect())

    assert results == []
    assert len(raised) == 1
    assert isinstance(raised[0], ws.CandleAnomalyError)
    assert str(raised[0]) == ANOMALY
    assert helper_calls == [3]
    assert [(e.source, e.message, e.exception_type) for e in errors["error"]] == [
        ("get_signal", ANOMALY, "CandleAnomalyError")
    ]
    assert strategy.calls == 34
