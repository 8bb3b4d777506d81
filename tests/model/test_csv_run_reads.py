"""A backtest on a CSV file reads the rest of its frame as one slice of the file once the first page came in."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import workstation as ws
from workstation.clients.exchange import ClientExchange
from workstation.exchanges import make_csv_exchange
from workstation.exchanges.csv import CsvCandles
from workstation.schemas.exchange import ExchangeSchema
from workstation.timeutil import MINUTE_MS

T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
NOW_2030 = 1_893_456_000_000
HEADER = "timestamp,open,high,low,close,volume\n"


def write_minutes(path: Path, count: int, skip: frozenset[int] = frozenset()) -> Path:
    lines = [
        f"{T0_MS + k * MINUTE_MS},{100.0 + k % 7},{103.0 + k % 7},{99.0 + k % 7},{101.0 + k % 7},{1.0 + k % 3}\n"
        for k in range(count)
        if k not in skip
    ]
    path.write_text(HEADER + "".join(lines))
    return path


def client(schema: ExchangeSchema) -> ClientExchange:
    return ClientExchange(schema, backtest=True, now_ms=lambda: NOW_2030, on_callback_error=lambda _s, _e: None)


def forward_read(schema: ExchangeSchema, config: ws.Config, since: int, until: int) -> tuple[Any, Any]:
    """Announce the frame, read one price at its start (the first page), then the candles up to ``until``."""
    exchange = client(schema)
    exchange.expect("BTCUSDT", T0_MS, until + MINUTE_MS)
    answers: list[tuple[Any, Any]] = []

    async def run() -> None:
        await exchange.get_average_price("BTCUSDT", since, config)
        candles, vwap = await exchange.get_forward_candles("BTCUSDT", since, until, config)
        answers.append((candles.copy(), vwap.copy()))

    asyncio.run(run())
    return answers[0]


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ``limit`` of every request a CSV exchange answers."""
    asked: list[int] = []
    answer = CsvCandles.__call__

    async def counted(self: CsvCandles, symbol: str, interval: str, since: datetime, limit: int) -> Any:
        asked.append(limit)
        return await answer(self, symbol, interval, since, limit)

    monkeypatch.setattr(CsvCandles, "__call__", counted)
    return asked


def paged(schema: ExchangeSchema) -> ExchangeSchema:
    """The same file with a page watcher: every page is requested and shown to it, as always."""
    return schema.model_copy(
        update={"callbacks": schema.callbacks.model_copy(update={"on_candle_data": print_nothing})}
    )


def print_nothing(*_args: Any) -> None:
    """An ``on_candle_data`` that does nothing."""


def test_the_frame_after_the_first_page_is_one_slice_of_the_file(tmp_path: Path, requests: list[int]) -> None:
    path = write_minutes(tmp_path / "btc.csv", 3000)
    config = ws.set_config(max_candles_per_request=100)
    since, until = T0_MS + 60 * MINUTE_MS, T0_MS + 2500 * MINUTE_MS
    candles, vwap = forward_read(make_csv_exchange("csv", path), config, since, until)
    assert requests == [100]
    requests.clear()
    expected_candles, expected_vwap = forward_read(paged(make_csv_exchange("csv", path)), config, since, until)
    assert requests == [100] * 24 + [46]  # from the first VWAP window (minute 55) to minute 2,501, 100 a page
    assert candles["timestamp"][[0, -1]].tolist() == [since, until]
    np.testing.assert_array_equal(candles, expected_candles)
    np.testing.assert_array_equal(vwap, expected_vwap)


def test_a_gap_in_the_file_is_read_page_by_page_and_refused_as_before(tmp_path: Path, requests: list[int]) -> None:
    path = write_minutes(tmp_path / "btc.csv", 3000, skip=frozenset({1500}))
    config = ws.set_config(max_candles_per_request=100, get_candles_retry_delay_ms=0, get_candles_retry_count=1)
    since, until = T0_MS + 60 * MINUTE_MS, T0_MS + 2500 * MINUTE_MS
    errors = []
    for schema in (make_csv_exchange("csv", path), paged(make_csv_exchange("csv", path))):
        requests.clear()
        with pytest.raises(ws.CandleWindowError) as caught:
            forward_read(schema, config, since, until)
        errors.append(str(caught.value))
        assert requests == [100] * 15  # the page holding the gap is the 15th
    assert (
        errors
        == [
            "csv BTCUSDT 1m: expected 100 candles from 2024-01-02T00:15:00.000Z, got 99 "
            "(first missing: 2024-01-02T01:00:00.000Z)"
        ]
        * 2
    )
