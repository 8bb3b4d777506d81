"""ws.fetch_candles: the candles of a period for charts, through the backtest exchange client."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import numpy as np
import pytest

import workstation as ws

T0 = 1704067200000
MINUTE = 60_000


def _ladder(symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
    start = int(since.timestamp() * 1000)
    rows = np.zeros(limit, dtype=ws.CANDLE_DTYPE)
    rows["timestamp"] = start + np.arange(limit) * MINUTE
    rows["open"] = rows["close"] = 42000.0 + (rows["timestamp"] - T0) // MINUTE
    rows["high"] = rows["close"] + 10
    rows["low"] = rows["close"] - 10
    rows["volume"] = 100.0
    keep = rows["timestamp"] < T0 + 400 * MINUTE
    return rows[keep]


def test_the_candles_opening_from_start_to_end_both_included() -> None:
    ws.add_exchange(exchange_name="ladder", get_candles=_ladder)
    candles = asyncio.run(
        ws.fetch_candles(
            "ladder", "BTCUSDT", datetime(2024, 1, 1, 0, 10, 30, tzinfo=UTC), datetime(2024, 1, 1, 0, 14, tzinfo=UTC)
        )
    )
    assert candles["timestamp"].tolist() == [T0 + minute * MINUTE for minute in range(10, 15)]
    assert candles["close"].tolist() == [42010.0, 42011.0, 42012.0, 42013.0, 42014.0]
    assert not candles.flags.writeable


def test_bad_requests_name_what_is_wrong() -> None:
    ws.add_exchange(exchange_name="ladder", get_candles=_ladder)
    start, end = datetime(2024, 1, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    with pytest.raises(ws.SchemaNotFoundError, match='exchange "nope"'):
        asyncio.run(ws.fetch_candles("nope", "BTCUSDT", end, start))
    with pytest.raises(
        ValueError, match=r"end \(2024-01-01T00:30:00.000Z\) is before start \(2024-01-01T01:00:00.000Z\)"
    ):
        asyncio.run(ws.fetch_candles("ladder", "BTCUSDT", start, end))
    with pytest.raises(ValueError, match=r"interval must be one of .*, got '7m'"):
        asyncio.run(ws.fetch_candles("ladder", "BTCUSDT", end, start, interval="7m"))
    with pytest.raises(ValueError, match="naive"):
        asyncio.run(ws.fetch_candles("ladder", "BTCUSDT", datetime(2024, 1, 1), end))  # noqa: DTZ001


def test_a_period_past_the_data_is_a_candle_window_error() -> None:
    ws.add_exchange(exchange_name="ladder", get_candles=_ladder)
    ws.set_config(get_candles_retry_delay_ms=0)
    with pytest.raises(ws.CandleWindowError):
        asyncio.run(
            ws.fetch_candles(
                "ladder", "BTCUSDT", datetime(2024, 1, 1, 6, tzinfo=UTC), datetime(2024, 1, 1, 7, tzinfo=UTC)
            )
        )


def test_a_long_read_gives_the_event_loop_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """An async exchange that never suspends, read in 30 requests: the client still lets other tasks (the GUI) run
    between requests; with the turn period at 0 they run at every request."""
    from workstation.clients import exchange as exchange_client

    monkeypatch.setattr(exchange_client, "_LOOP_TURN_SECONDS", 0.0)

    async def ladder_without_suspending(symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        return _ladder(symbol, interval, since, limit)

    ws.add_exchange(exchange_name="ladder", get_candles=ladder_without_suspending)
    ws.set_config(max_candles_per_request=10)
    turns: list[int] = []

    async def scenario() -> np.ndarray:
        reading = asyncio.ensure_future(
            ws.fetch_candles(
                "ladder", "BTCUSDT", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 4, 59, tzinfo=UTC)
            )
        )
        while not reading.done():
            turns.append(len(turns))
            await asyncio.sleep(0)
        return reading.result()

    candles = asyncio.run(scenario())
    assert len(candles) == 300
    assert len(turns) >= 25
