"""download_history: pages stored as they arrive, progress reports, resume after a cancel, retries per page."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from exchange_server import KLINES, MINUTE, T0, FakeBinance, fake_binance

import workstation as ws
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.download import DownloadProgress, DownloadSummary, SymbolDownload, download_history
from workstation.timeutil import from_ms

SYMBOL = "BTC/USDT"


def progress(symbol: str, fetched: int, total: int, done: bool = False) -> DownloadProgress:
    return DownloadProgress(
        symbol=symbol, fetched_candles=fetched, total_candles=total, progress=fetched / total, done=done
    )


def klines_starts(server: FakeBinance) -> list[tuple[str, int, int]]:
    return [(q["symbol"], int(q["startTime"]), int(q["limit"])) for q in server.klines_requests()]


def test_a_download_stores_every_page_and_reports_progress(server: FakeBinance, store: CandleStore) -> None:
    source = fake_binance(server, store)
    reports: list[DownloadProgress] = []

    async def scenario() -> DownloadSummary:
        try:
            return await download_history(
                "fake", [SYMBOL, "ETH/USDT"], "1m", T0, T0 + 2000 * MINUTE, store=store, on_progress=reports.append
            )
        finally:
            await source.aclose()

    summary = asyncio.run(scenario())

    # After the first page each page starts at the newest candle it has, to prove the window is not shifted.
    assert klines_starts(server) == [
        ("BTCUSDT", T0, 1000),
        ("BTCUSDT", T0 + 999 * MINUTE, 1000),
        ("BTCUSDT", T0 + 1998 * MINUTE, 2),
        ("ETHUSDT", T0, 1000),
        ("ETHUSDT", T0 + 999 * MINUTE, 1000),
        ("ETHUSDT", T0 + 1998 * MINUTE, 2),
    ]
    assert reports == [
        progress(SYMBOL, 0, 2000),
        progress(SYMBOL, 1000, 2000),
        progress(SYMBOL, 1999, 2000),
        progress(SYMBOL, 2000, 2000),
        progress(SYMBOL, 2000, 2000, done=True),
        progress("ETH/USDT", 0, 2000),
        progress("ETH/USDT", 1000, 2000),
        progress("ETH/USDT", 1999, 2000),
        progress("ETH/USDT", 2000, 2000),
        progress("ETH/USDT", 2000, 2000, done=True),
    ]
    assert summary == DownloadSummary(
        exchange_name="fake",
        interval="1m",
        start=T0,
        end=T0 + 2000 * MINUTE,
        symbols=[
            SymbolDownload(symbol=SYMBOL, downloaded_candles=2000, requests=3, already_stored=0),
            SymbolDownload(symbol="ETH/USDT", downloaded_candles=2000, requests=3, already_stored=0),
        ],
    )
    assert summary.downloaded_candles == 4000
    np.testing.assert_array_equal(store.read("fake", SYMBOL, "1m", T0, T0 + 2000 * MINUTE), server.candles[:2000])


def test_a_backtest_period_already_downloaded_needs_no_network(server: FakeBinance, store: CandleStore) -> None:
    source = fake_binance(server, store)

    async def scenario() -> np.ndarray:
        try:
            await download_history(
                "fake", [SYMBOL], "1m", T0, T0 + 2500 * MINUTE, store=store, on_progress=lambda _: None
            )
            requests = len(server.requests)
            candles = await ws.fetch_candles("fake", SYMBOL, from_ms(T0 + 100 * MINUTE), from_ms(T0 + 1099 * MINUTE))
            assert len(server.requests) == requests
            return candles
        finally:
            await source.aclose()

    candles = asyncio.run(scenario())
    np.testing.assert_array_equal(candles, server.candles[100:1100])
    assert server.count(KLINES) == 3


def test_a_cancelled_download_resumes_where_it_stopped(server: FakeBinance, store: CandleStore) -> None:
    source = fake_binance(server, store)
    reports: list[DownloadProgress] = []

    async def cancelled_after_the_first_page() -> None:
        task: asyncio.Task[DownloadSummary] | None = None

        def on_progress(report: DownloadProgress) -> None:
            reports.append(report)
            if report.fetched_candles == 1000 and task is not None:
                task.cancel()

        task = asyncio.create_task(
            download_history("fake", [SYMBOL], "1m", T0, T0 + 2500 * MINUTE, store=store, on_progress=on_progress)
        )
        try:
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await source.aclose()

    asyncio.run(cancelled_after_the_first_page())
    assert reports == [progress(SYMBOL, 0, 2500), progress(SYMBOL, 1000, 2500)]
    assert klines_starts(server) == [("BTCUSDT", T0, 1000)]
    assert store.missing("fake", SYMBOL, "1m", T0, T0 + 2500 * MINUTE) == [(T0 + 1000 * MINUTE, T0 + 2500 * MINUTE)]

    reports.clear()

    async def resumed() -> DownloadSummary:
        try:
            return await download_history(
                "fake", [SYMBOL], "1m", T0, T0 + 2500 * MINUTE, store=store, on_progress=reports.append
            )
        finally:
            await source.aclose()

    summary = asyncio.run(resumed())
    assert klines_starts(server) == [
        ("BTCUSDT", T0, 1000),
        ("BTCUSDT", T0 + 999 * MINUTE, 1000),
        ("BTCUSDT", T0 + 1998 * MINUTE, 502),
    ]
    assert reports == [
        progress(SYMBOL, 1000, 2500),
        progress(SYMBOL, 1999, 2500),
        progress(SYMBOL, 2500, 2500),
        progress(SYMBOL, 2500, 2500, done=True),
    ]
    assert summary.symbols == [SymbolDownload(symbol=SYMBOL, downloaded_candles=1500, requests=2, already_stored=1000)]
    np.testing.assert_array_equal(store.read("fake", SYMBOL, "1m", T0, T0 + 2500 * MINUTE), server.candles)


def test_each_page_is_retried_and_the_end_of_the_data_stays_to_ask(server: FakeBinance, store: CandleStore) -> None:
    ws.set_config(get_candles_retry_delay_ms=0)
    source = fake_binance(server, store)
    server.fail_next_klines([429, 500])

    async def scenario() -> DownloadSummary:
        try:
            return await download_history(
                "fake", [SYMBOL], "1m", T0 + 2000 * MINUTE, T0 + 3000 * MINUTE, store=store, on_progress=lambda _: None
            )
        finally:
            await source.aclose()

    summary = asyncio.run(scenario())

    assert klines_starts(server) == [("BTCUSDT", T0 + 2000 * MINUTE, 1000)] * 3
    assert summary.symbols == [SymbolDownload(symbol=SYMBOL, downloaded_candles=500, requests=1, already_stored=0)]
    [series] = store.series()
    # Nothing published past the exchange's last candle proves the rest empty: not a gap, asked again next time.
    assert (series.gaps, series.covered) == ([], [(T0 + 2000 * MINUTE, T0 + 2500 * MINUTE)])
    assert (series.first, series.last, series.count) == (T0 + 2000 * MINUTE, T0 + 2499 * MINUTE, 500)


def test_a_failing_page_fails_the_download_after_the_configured_attempts(
    server: FakeBinance, store: CandleStore
) -> None:
    ws.set_config(get_candles_retry_delay_ms=0, get_candles_retry_count=2)
    source = fake_binance(server, store)
    server.fail_next_klines([500, 500])

    async def scenario() -> None:
        try:
            await download_history("fake", [SYMBOL], "1m", T0, T0 + 10 * MINUTE, store=store, on_progress=print)
        finally:
            await source.aclose()

    with pytest.raises(Exception, match=r"500 Internal Server Error") as raised:
        asyncio.run(scenario())
    assert type(raised.value).__name__ == "ExchangeNotAvailable"
    assert server.count(KLINES) == 2
    assert store.series() == []


def test_bad_requests_are_refused_before_any_network_call(server: FakeBinance, store: CandleStore) -> None:
    fake_binance(server, store)
    ws.add_exchange(exchange_name="plain", get_candles=lambda *_: [])

    def run(*args: object) -> None:
        asyncio.run(download_history(*args, store=store, on_progress=print))  # type: ignore[arg-type]

    with pytest.raises(ws.SchemaNotFoundError, match='exchange "nope"'):
        run("nope", [SYMBOL], "1m", T0, T0 + MINUTE)
    with pytest.raises(TypeError, match=r'^exchange "plain" is not a ccxt exchange \(make_ccxt_exchange\)'):
        run("plain", [SYMBOL], "1m", T0, T0 + MINUTE)
    with pytest.raises(ValueError, match=r"^interval must be one of 1m, .*, got '7m'$"):
        run("fake", [SYMBOL], "7m", T0, T0 + MINUTE)
    with pytest.raises(ValueError, match=r"^symbols must be a non-empty list of non-empty strings, got \[\]$"):
        run("fake", [], "1m", T0, T0 + MINUTE)
    with pytest.raises(
        ValueError, match=r"^end \(2024-01-01T00:00:00.000Z\) must be after start \(2024-01-01T00:01:00.000Z\)$"
    ):
        run("fake", [SYMBOL], "1m", T0 + MINUTE, T0)
    assert server.requests == []
