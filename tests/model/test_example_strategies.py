"""The example strategies: indicators, parameters as models, and a pinned backtest each."""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import pickle
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pydantic
import pytest

import workstation as ws
from workstation.examples import breakout, managed_sma, rsi_reversion, sma_cross

SYMBOL = "SYNUSDT"
EXCHANGE = "synthetic"
FRAME = "three-days"
MINUTE_MS = 60_000
DATA_START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z: a day of history before the frame for the indicators
DATA_MINUTES = 6 * 1440
INTERVAL_MINUTES = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "4h": 240, "1d": 1440}


# ---------------------------------------------------------------------------------------------------------------
# A deterministic synthetic market
# ---------------------------------------------------------------------------------------------------------------


@functools.cache
def synthetic_minutes() -> np.ndarray:
    """Six days of 1m candles from 2024-01-01: a slow rise, a 6-hour and a 2-day swing, and a 7-minute wobble."""
    k = np.arange(-1, DATA_MINUTES, dtype=np.float64)
    path = 100.0 * np.exp(
        0.00001 * k
        + 0.015 * np.sin(2 * math.pi * k / 360)
        + 0.06 * np.sin(2 * math.pi * k / 2880)
        + 0.002 * np.sin(2 * math.pi * k / 7)
    )
    open_, close = path[:-1], path[1:]
    wick = 0.0005 * (1.5 + np.sin(k[1:] / 3))
    candles = np.empty(DATA_MINUTES, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = DATA_START_MS + np.arange(DATA_MINUTES, dtype=np.int64) * MINUTE_MS
    candles["open"] = open_
    candles["high"] = np.maximum(open_, close) * (1 + wick)
    candles["low"] = np.minimum(open_, close) * (1 - wick)
    candles["close"] = close
    candles["volume"] = 50.0 + 20.0 * np.cos(k[1:] / 11)
    return candles


async def synthetic_candles(symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
    """The exchange's ``get_candles``: the synthetic 1m candles, or complete aggregates of them, in the window."""
    step = INTERVAL_MINUTES[interval]
    first = (int(since.timestamp() * 1000) - DATA_START_MS) // MINUTE_MS
    minutes = synthetic_minutes()[max(first, 0) : max(first + limit * step, 0)]
    grid = minutes[: len(minutes) // step * step].reshape(-1, step)
    out = np.empty(len(grid), dtype=ws.CANDLE_DTYPE)
    out["timestamp"] = grid["timestamp"][:, 0]
    out["open"] = grid["open"][:, 0]
    out["high"] = grid["high"].max(axis=1)
    out["low"] = grid["low"].min(axis=1)
    out["close"] = grid["close"][:, -1]
    out["volume"] = grid["volume"].sum(axis=1)
    return out


def test_synthetic_candles_are_well_formed() -> None:
    candles = synthetic_minutes()
    assert (candles["low"] > 0).all()
    assert (candles["high"] >= np.maximum(candles["open"], candles["close"])).all()
    assert (candles["low"] <= np.minimum(candles["open"], candles["close"])).all()
    hourly = asyncio.run(synthetic_candles(SYMBOL, "1h", datetime(2024, 1, 1, 1, tzinfo=UTC), 3))
    assert hourly["timestamp"].tolist() == [DATA_START_MS + h * 3_600_000 for h in (1, 2, 3)]
    assert hourly["open"][0] == candles["open"][60]
    assert hourly["close"][0] == candles["close"][119]


def run_backtest(strategy: ws.StrategySchema) -> tuple[list[Any], list[Any]]:
    """Backtest ``strategy`` on the synthetic market over 2024-01-02 → 2024-01-04; return (results, error events)."""
    ws.add_exchange(exchange_name=EXCHANGE, get_candles=synthetic_candles)
    ws.add_frame(
        frame_name=FRAME,
        interval="1m",
        start_date=datetime(2024, 1, 2, tzinfo=UTC),
        end_date=datetime(2024, 1, 4, 23, 59, tzinfo=UTC),
    )
    ws.add_strategy(strategy)
    errors: list[Any] = []
    ws.listen_error(errors.append)

    async def collect() -> list[Any]:
        return [
            result
            async for result in ws.Backtest.run(
                SYMBOL, strategy_name=strategy.strategy_name, exchange_name=EXCHANGE, frame_name=FRAME
            )
        ]

    return asyncio.run(collect()), errors


def fetch_before(when_ms: int, interval: str, count: int) -> np.ndarray:
    """Return the ``count`` synthetic candles of ``interval`` that closed at or before ``when_ms`` (an aligned tick)."""
    since_ms = when_ms - count * INTERVAL_MINUTES[interval] * MINUTE_MS
    return asyncio.run(synthetic_candles(SYMBOL, interval, datetime.fromtimestamp(since_ms / 1000, tz=UTC), count))


def params_of(schema: ws.StrategySchema) -> object:
    """Return the parameters an example's ``get_signal`` object carries."""
    get_signal = schema.get_signal
    assert isinstance(get_signal, rsi_reversion.RsiReversionSignal | breakout.BreakoutSignal)
    return get_signal.params


def messages(errors: list[Any]) -> list[str]:
    return [f"{error.source}: {error.message}" for error in errors]


# ---------------------------------------------------------------------------------------------------------------
# RSI mean reversion
# ---------------------------------------------------------------------------------------------------------------


def reference_rsi(closes: list[float], period: int) -> float:
    """Wilder's RSI the textbook way: seed means, then one smoothing step per change, then 100 - 100 / (1 + RS)."""
    changes = [later - earlier for earlier, later in itertools.pairwise(closes)]
    gain = sum(max(change, 0.0) for change in changes[:period]) / period
    loss = sum(max(-change, 0.0) for change in changes[:period]) / period
    for change in changes[period:]:
        gain = (gain * (period - 1) + max(change, 0.0)) / period
        loss = (loss * (period - 1) + max(-change, 0.0)) / period
    return 100.0 if loss == 0.0 else 100.0 - 100.0 / (1.0 + gain / loss)


CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28]
CLOSES += [46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57]


def test_wilder_rsi_by_hand() -> None:
    # period 2, closes 1 2 3 2: seed gain (1+1)/2 = 1, loss 0; then gain (1*1 + 0)/2 = 0.5, loss (0 + 1)/2 = 0.5.
    assert rsi_reversion.wilder_rsi(np.array([1.0, 2.0, 3.0, 2.0]), 2) == 50.0
    # One more close, 4: gain (0.5 + 2)/2 = 1.25, loss (0.5 + 0)/2 = 0.25, RS = 5, RSI = 100 - 100/6.
    assert rsi_reversion.wilder_rsi(np.array([1.0, 2.0, 3.0, 2.0, 4.0]), 2) == pytest.approx(250 / 3, rel=1e-12)
    # Exactly period + 1 closes: the seed means alone, (0.5 + 1) / 3 and 0.25 / 3.
    assert rsi_reversion.wilder_rsi(np.array([10.0, 10.5, 10.25, 11.25]), 3) == pytest.approx(
        100 * 1.5 / 1.75, rel=1e-12
    )


@pytest.mark.parametrize("period", [1, 2, 5, 14, 29])
def test_wilder_rsi_matches_the_sequential_definition(period: int) -> None:
    assert rsi_reversion.wilder_rsi(np.array(CLOSES), period) == pytest.approx(reference_rsi(CLOSES, period), rel=1e-12)


def test_wilder_rsi_limits_and_refusals() -> None:
    assert rsi_reversion.wilder_rsi(np.array([1.0, 2.0, 3.0, 4.0]), 2) == 100.0
    assert rsi_reversion.wilder_rsi(np.array([4.0, 3.0, 2.0, 1.0]), 2) == 0.0
    assert rsi_reversion.wilder_rsi(np.full(5, 7.0), 3) == 50.0
    with pytest.raises(ValueError, match=r"needs at least period \+ 1 = 15 closes, got 14"):
        rsi_reversion.wilder_rsi(np.ones(14), 14)
    with pytest.raises(ValueError, match="period must be at least 1, got 0"):
        rsi_reversion.wilder_rsi(np.ones(5), 0)


def test_rsi_reversion_defaults_and_pickling() -> None:
    schema = rsi_reversion.make_strategy()
    assert (schema.strategy_name, schema.interval) == ("rsi-reversion", "15m")
    assert params_of(schema) == rsi_reversion.RsiReversionParams()
    assert params_of(rsi_reversion.make_strategy({})) == rsi_reversion.RsiReversionParams()
    custom = rsi_reversion.make_strategy({"interval": "5m", "period": 7})
    assert custom.interval == "5m"
    assert params_of(pickle.loads(pickle.dumps(custom))) == params_of(custom)


def test_rsi_reversion_refuses_unknown_params_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown rsi_reversion parameter\(s\): perod; known: entry_offset_percent, "):
        rsi_reversion.make_strategy({"perod": 14})


INTERVALS = "'1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h' or '1d'"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"interval": "7m"}, "interval", f"Input should be {INTERVALS}"),
        ({"period": 1}, "period", "Input should be greater than or equal to 2"),
        (
            {"oversold": 70, "overbought": 30},
            "overbought",
            "Value error, overbought must be above oversold, got oversold=70.0, overbought=30.0",
        ),
        ({"overbought": 100}, "overbought", "Input should be less than 100"),
        ({"oversold": float("nan")}, "oversold", "Input should be a finite number"),
        ({"entry_offset_percent": -0.1}, "entry_offset_percent", "Input should be greater than or equal to 0"),
        ({"take_profit_percent": 0}, "take_profit_percent", "Input should be greater than 0"),
        ({"stop_loss_percent": 100}, "stop_loss_percent", "Input should be less than 100"),
        ({"minute_estimated_time": 0}, "minute_estimated_time", "Input should be greater than or equal to 1"),
    ],
)
def test_rsi_reversion_refuses_bad_params(params: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        rsi_reversion.make_strategy(params)
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [((field,), message)]


def test_rsi_reversion_backtest_is_pinned() -> None:
    results, errors = run_backtest(rsi_reversion.make_strategy())

    assert messages(errors) == []
    assert results[0].action == "scheduled"
    for result in results:
        if result.action != "scheduled":
            continue
        signal = result.signal
        side = 1.0 if signal.position == "long" else -1.0
        # The limit price is 0.2 % better than the price at creation; TP and SL are 1.5 % and 1 % from the entry.
        assert signal.price_open == pytest.approx(result.current_price * (1 - side * 0.002), rel=1e-12)
        assert signal.price_take_profit == pytest.approx(signal.price_open * (1 + side * 0.015), rel=1e-12)
        assert signal.price_stop_loss == pytest.approx(signal.price_open * (1 - side * 0.01), rel=1e-12)
        assert signal.note.startswith("RSI(14) ")
        assert (" < 30" in signal.note) == (signal.position == "long")
    # The first call, at the frame's first tick, saw the 57 quarter hours that closed before it.
    first = results[0].signal
    history = fetch_before(first.scheduled_at, "15m", 57)
    assert first.note == f"RSI(14) {reference_rsi(history['close'].tolist(), 14):.1f} < 30"
    closed = [result for result in results if result.action == "closed"]
    assert len(closed) == 44
    assert Counter(result.close_reason for result in closed) == {"stop_loss": 33, "take_profit": 6, "time_expired": 5}
    assert Counter(result.signal.position for result in closed) == {"long": 22, "short": 22}
    assert (closed[0].signal.id, closed[0].close_reason) == ("rsi-reversion:SYNUSDT:1704153600000", "stop_loss")


def test_rsi_reversion_without_offset_opens_at_once() -> None:
    results, errors = run_backtest(rsi_reversion.make_strategy({"entry_offset_percent": 0}))

    assert messages(errors) == []
    assert results[0].action == "opened"
    assert all(result.action != "scheduled" for result in results)


# ---------------------------------------------------------------------------------------------------------------
# Donchian breakout
# ---------------------------------------------------------------------------------------------------------------

HIGH = np.array([5.0, 7.0, 6.0, 9.0, 8.0, 20.0])
LOW = np.array([4.0, 3.0, 5.0, 6.0, 2.0, 1.0])


def test_donchian_channel_leaves_out_the_newest_candle() -> None:
    # The newest candle (high 20, low 1) is the one tested, never part of its own channel.
    assert breakout.donchian_channel(HIGH, LOW, 1) == (8.0, 2.0)
    assert breakout.donchian_channel(HIGH, LOW, 3) == (9.0, 2.0)
    assert breakout.donchian_channel(HIGH[:4], LOW[:4], 2) == (7.0, 3.0)
    assert breakout.donchian_channel(HIGH, LOW, 5) == (9.0, 2.0)


def test_donchian_channel_refusals() -> None:
    with pytest.raises(ValueError, match=r"needs at least lookback \+ 1 = 7 candles, got 6"):
        breakout.donchian_channel(HIGH, LOW, 6)
    with pytest.raises(ValueError, match="lookback must be at least 1, got 0"):
        breakout.donchian_channel(HIGH, LOW, 0)
    with pytest.raises(ValueError, match="same length, got 6 and 5"):
        breakout.donchian_channel(HIGH, LOW[:5], 2)


def reference_atr(high: list[float], low: list[float], close: list[float], period: int) -> float:
    """Mean of the last ``period`` true ranges, one candle at a time."""
    total = 0.0
    for k in range(len(close) - period, len(close)):
        total += max(high[k] - low[k], abs(high[k] - close[k - 1]), abs(low[k] - close[k - 1]))
    return total / period


def test_average_true_range_by_hand() -> None:
    high = np.array([10.0, 12.0, 11.0, 15.0])
    low = np.array([9.0, 10.0, 8.0, 12.0])
    close = np.array([9.5, 11.0, 9.0, 14.0])
    # True ranges: 12 - 9.5 = 2.5 (gap up from 9.5 counts), 11 - 8 = 3, 15 - 9 = 6 (gap up from 9).
    assert breakout.average_true_range(high, low, close, 3) == pytest.approx(11.5 / 3, rel=1e-12)
    assert breakout.average_true_range(high, low, close, 2) == 4.5
    assert breakout.average_true_range(high, low, close, 1) == 6.0


@pytest.mark.parametrize("period", [1, 4, 14, 28])
def test_average_true_range_matches_a_loop(period: int) -> None:
    candles = asyncio.run(synthetic_candles(SYMBOL, "1h", datetime(2024, 1, 2, tzinfo=UTC), 29))
    high, low, close = candles["high"], candles["low"], candles["close"]
    expected = reference_atr(high.tolist(), low.tolist(), close.tolist(), period)
    assert breakout.average_true_range(high, low, close, period) == pytest.approx(expected, rel=1e-12)


def test_average_true_range_refusals() -> None:
    with pytest.raises(ValueError, match=r"needs at least period \+ 1 = 5 candles, got 4"):
        breakout.average_true_range(np.ones(4), np.ones(4), np.ones(4), 4)
    with pytest.raises(ValueError, match="period must be at least 1, got 0"):
        breakout.average_true_range(np.ones(4), np.ones(4), np.ones(4), 0)
    with pytest.raises(ValueError, match="same length, got 4, 4, 3"):
        breakout.average_true_range(np.ones(4), np.ones(4), np.ones(3), 2)


def test_breakout_defaults_and_pickling() -> None:
    schema = breakout.make_strategy()
    assert (schema.strategy_name, schema.interval) == ("breakout", "1h")
    assert params_of(schema) == breakout.BreakoutParams()
    custom = breakout.make_strategy({"interval": "4h", "lookback": 55})
    assert custom.interval == "4h"
    assert params_of(pickle.loads(pickle.dumps(custom))) == params_of(custom)


def test_breakout_refuses_unknown_params_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown breakout parameter\(s\): look_back; known: atr_period, interval, "):
        breakout.make_strategy({"look_back": 20})


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"interval": "1w"}, "interval", f"Input should be {INTERVALS}"),
        ({"lookback": 0}, "lookback", "Input should be greater than or equal to 1"),
        ({"atr_period": 0}, "atr_period", "Input should be greater than or equal to 1"),
        ({"tp_atr": 0}, "tp_atr", "Input should be greater than 0"),
        ({"sl_atr": -1}, "sl_atr", "Input should be greater than 0"),
        ({"min_atr_percent": -0.1}, "min_atr_percent", "Input should be greater than or equal to 0"),
        (
            {"min_distance_percent": 5, "max_stop_loss_percent": 2},
            "max_stop_loss_percent",
            "Value error, max_stop_loss_percent must be at least min_distance_percent, got min_distance_percent=5.0, "
            "max_stop_loss_percent=2.0",
        ),
        ({"min_distance_percent": 0}, "min_distance_percent", "Input should be greater than 0"),
        ({"minute_estimated_time": 0}, "minute_estimated_time", "Input should be greater than or equal to 1"),
    ],
)
def test_breakout_refuses_bad_params(params: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        breakout.make_strategy(params)
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [((field,), message)]


def test_breakout_backtest_is_pinned() -> None:
    results, errors = run_backtest(breakout.make_strategy())

    assert messages(errors) == []
    assert [result.action for result in results] == ["opened", "closed"] * (len(results) // 2)
    for result in results[::2]:
        signal = result.signal
        # A market order: the entry is the price at the tick; exits at least 0.6 %, the stop at most 19.5 % away.
        assert signal.price_open == result.current_price
        side = 1.0 if signal.position == "long" else -1.0
        take_profit_percent = side * (signal.price_take_profit / signal.price_open - 1) * 100
        stop_loss_percent = side * (1 - signal.price_stop_loss / signal.price_open) * 100
        assert take_profit_percent >= 0.6 - 1e-9
        assert 0.6 - 1e-9 <= stop_loss_percent <= 19.5 + 1e-9
        # Without clamping, TP is 3 ATR and SL 1.5 ATR away: always twice as far.
        assert take_profit_percent == pytest.approx(2 * stop_loss_percent, rel=1e-9)
        assert ("above the 20-candle high" in signal.note) == (signal.position == "long")
    # The first breakout compared the newest closed hour with the 20 hours before it.
    first = results[0].signal
    history = fetch_before(first.scheduled_at, "1h", 21)
    lower = float(history["low"][:-1].min())
    assert first.note.startswith(f"close {history['close'][-1]:g} below the 20-candle low {lower:g}, ATR ")
    closed = results[1::2]
    assert len(closed) == 6
    assert Counter(result.close_reason for result in closed) == {"take_profit": 3, "stop_loss": 1, "time_expired": 2}
    assert Counter(result.signal.position for result in closed) == {"short": 4, "long": 2}
    assert (closed[0].signal.id, closed[0].close_reason) == ("breakout:SYNUSDT:1704164400000", "take_profit")


def test_breakout_skips_quiet_markets() -> None:
    results, errors = run_backtest(breakout.make_strategy({"min_atr_percent": 5.0}))

    assert messages(errors) == []
    assert results == []


# ---------------------------------------------------------------------------------------------------------------
# Parameters as models (what forms are generated from)
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [sma_cross, rsi_reversion, breakout, managed_sma])
def test_each_factory_exposes_its_params_model_with_titles(module: Any) -> None:
    model = module.make_strategy.params_model
    assert all(info.title and info.description for info in model.model_fields.values())
    assert module.make_strategy.parse(None) == model()
    with pytest.raises(pydantic.ValidationError, match="Instance is frozen"):
        model().interval = "1h"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"variant": "stop"}, "variant", "Input should be 'market' or 'limit'"),
        ({"fast": 50}, "slow", "Value error, slow must be above fast, got fast=50, slow=50"),
        ({"fast": 0}, "fast", "Input should be greater than 0"),
        ({"shift": 0}, "shift", "Input should be greater than or equal to 1"),
        ({"tp_long": float("inf")}, "tp_long", "Input should be a finite number"),
    ],
)
def test_sma_cross_refuses_bad_params(params: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        sma_cross.make_strategy(params)
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [((field,), message)]


def test_sma_cross_names_and_pickles() -> None:
    schema = sma_cross.make_strategy({"variant": "limit", "fast": 10, "slow": 30})
    assert (schema.strategy_name, schema.interval, schema.note) == (
        "sma-cross-limit",
        "5m",
        "SMA 10/30 crossover (limit entries)",
    )
    restored = pickle.loads(pickle.dumps(schema))
    assert restored.get_signal.params == sma_cross.SmaCrossParams(variant="limit", fast=10, slow=30)
