"""Fault 19, storage items: a strategy cannot rewrite the shared candle cache, and ccxt's verbose mode shows no key.

A strategy that made its ``ws.get_candles`` array writeable with ``setflags(write=True)`` rewrote the cache every
run in the process reads (changing another run's PnL); ``make_ccxt_exchange(..., verbose=True)`` printed each
request with the API key header in clear.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from exchange_server import ACCOUNT, FAKE_BINANCE_OPTIONS, T0, FakeBinance, minute_candles
from memory_keyring import MemoryKeyring

import workstation as ws
from workstation.exchanges.api_keys import KEYRING_SERVICE, set_api_key
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.ccxt_exchange import CcxtCandles, make_ccxt_exchange
from workstation.timeutil import from_ms

SYMBOL = "BTCUSDT"
API_KEY = "SECRET-KEY-0b7d21"
SECRET = "SECRET-SECRET-9c44ae"


def closes_seen(strategy_name: str, *, tamper: bool, refused: list[str]) -> list[float]:
    """Run ``strategy_name`` over ten minutes of demo candles; return the last close of each tick's window."""
    closes: list[float] = []

    async def get_signal(symbol: str, when: datetime) -> None:
        candles = await ws.get_candles(symbol, "1m", 5)
        if tamper:
            try:
                candles.setflags(write=True)
                candles["close"][:] = 1.0
            except ValueError as error:
                refused.append(str(error))
        closes.append(float(candles["close"][-1]))

    ws.add_strategy(strategy_name=strategy_name, interval="1m", get_signal=get_signal)

    async def scenario() -> None:
        async for _ in ws.Backtest.run(SYMBOL, strategy_name=strategy_name, exchange_name="demo", frame_name="ten"):
            pass

    asyncio.run(scenario())
    return closes


def test_a_strategy_cannot_make_its_candles_writeable_and_another_run_reads_them_unchanged() -> None:
    ws.add_exchange(ws.make_demo_exchange())
    ws.add_frame(
        frame_name="ten",
        interval="1m",
        start_date=datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 1, 9, tzinfo=UTC),
    )
    refused: list[str] = []
    honest = closes_seen("honest", tamper=False, refused=refused)
    tampered = closes_seen("tamper", tamper=True, refused=refused)
    after = closes_seen("after", tamper=False, refused=refused)

    assert refused == ["cannot set WRITEABLE flag to True of this array"] * 10
    assert len(honest) == 10
    assert tampered == honest
    assert after == honest
    assert 1.0 not in honest


def test_verbose_requests_are_logged_with_the_key_redacted_and_never_printed(
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_api_key("binance", API_KEY, SECRET)
    store = CandleStore(tmp_path / "candles.sqlite3")
    with FakeBinance(minute_candles(10), api_key=API_KEY, secret=SECRET) as server:
        schema = make_ccxt_exchange(
            "fake",
            "binance",
            store=store,
            api_key_service=KEYRING_SERVICE,
            api_url=server.url,
            verbose=True,
            **FAKE_BINANCE_OPTIONS,
        )
        source = schema.get_candles
        assert isinstance(source, CcxtCandles)

        async def scenario() -> int:
            try:
                instance = await source.connection.exchange()
                await instance.fetch_balance()
                return len(await source("BTC/USDT", "1m", from_ms(T0), 5))
            finally:
                await source.aclose()

        with caplog.at_level(logging.INFO, logger="workstation.exchange.ccxt"):
            assert asyncio.run(scenario()) == 5
        [account] = [request for request in server.requests if request.path == ACCOUNT]
    store.close()

    assert account.headers["x-mbx-apikey"] == API_KEY  # the key was sent: there was something to leak
    printed = capfd.readouterr()
    assert (printed.out, printed.err) == ("", "")
    verbose = [record.getMessage() for record in caplog.records if record.name == "workstation.exchange.ccxt"]
    requests = [message for message in verbose if message.startswith("fetch Request: binance GET")]
    assert [message.split(" ")[4].split("?")[0] for message in requests] == [
        f"{server.url}/api/v3/exchangeInfo",
        f"{server.url}/api/v3/account",
        f"{server.url}/api/v3/klines",
    ]
    assert "'X-MBX-APIKEY': '***'" in requests[1]
    assert not [message for message in verbose if API_KEY in message or SECRET in message]
