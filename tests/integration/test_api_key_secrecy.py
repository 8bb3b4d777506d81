"""API keys live in the OS keyring only: never in logs, reports, the candle store, state files or errors."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

import platformdirs
import pytest
from exchange_server import (
    ACCOUNT,
    FAKE_BINANCE_OPTIONS,
    KLINES,
    MINUTE,
    T0,
    FakeBinance,
    minute_candles,
)
from memory_keyring import MemoryKeyring

import workstation as ws
from workstation.exchanges.api_keys import (
    KEYRING_SERVICE,
    ApiCredentials,
    delete_api_key,
    has_api_key,
    load_api_key,
    set_api_key,
)
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.ccxt_exchange import CcxtCandles, make_ccxt_exchange
from workstation.exchanges.download import download_history
from workstation.timeutil import from_ms

API_KEY = "SECRET-KEY-5f1c9a"
SECRET = "SECRET-SECRET-77e2b0"
SYMBOL = "BTC/USDT"


class OneShotLong:
    """``get_signal``: a long market signal on the first call, nothing after (TP 43200 is hit near minute 2380)."""

    def __init__(self, lifetime_minutes: int = 1440) -> None:
        self.fired = False
        self.lifetime_minutes = lifetime_minutes

    def __call__(self, symbol: str, when: object) -> ws.Signal | None:
        if self.fired:
            return None
        self.fired = True
        return ws.Signal(
            position="long",
            price_take_profit=43200.0,
            price_stop_loss=42000.0,
            minute_estimated_time=self.lifetime_minutes,
        )


def test_keys_are_stored_in_the_keyring_and_never_shown(memory_keyring: MemoryKeyring) -> None:
    set_api_key("binance", API_KEY, SECRET)

    assert memory_keyring.entries == {
        (KEYRING_SERVICE, "binance:apiKey"): API_KEY,
        (KEYRING_SERVICE, "binance:secret"): SECRET,
    }
    assert has_api_key("binance")
    credentials = load_api_key("binance")
    assert credentials == ApiCredentials(api_key=API_KEY, secret=SECRET)
    assert repr(credentials) == "ApiCredentials()"
    assert delete_api_key("binance") is True
    assert delete_api_key("binance") is False
    assert memory_keyring.entries == {}
    assert load_api_key("binance") is None

    with pytest.raises(ValueError, match=r"^secret must be a non-empty string$"):
        set_api_key("binance", API_KEY, "  ")
    with pytest.raises(ValueError, match=r"^api_key must not contain spaces at its ends or control characters$") as e:
        set_api_key("binance", f" {API_KEY}", SECRET)
    assert API_KEY not in str(e.value)
    with pytest.raises(ValueError, match=r"^exchange_id must be a non-empty ccxt exchange id without ':', got 'a:b'$"):
        set_api_key("a:b", API_KEY, SECRET)
    assert memory_keyring.entries == {}


def test_no_key_or_secret_reaches_logs_reports_store_or_state_files(
    memory_keyring: MemoryKeyring, debug_log: Path, tmp_path: Path
) -> None:
    set_api_key("binance", API_KEY, SECRET)
    ws.set_config(get_candles_retry_delay_ms=0)
    user_data = Path(platformdirs.user_data_dir("workstation"))
    store = CandleStore(user_data / "candles.sqlite3")
    reports = tmp_path / "reports"

    with FakeBinance(minute_candles(2500), api_key=API_KEY, secret=SECRET) as server:
        schema = ws.add_exchange(
            make_ccxt_exchange(
                "fake",
                "binance",
                store=store,
                api_key_service=KEYRING_SERVICE,
                api_url=server.url,
                **FAKE_BINANCE_OPTIONS,
            )
        )
        source = schema.get_candles
        assert isinstance(source, CcxtCandles)
        ws.add_strategy(strategy_name="one-shot", interval="5m", get_signal=OneShotLong())
        ws.add_strategy(strategy_name="live-shot", interval="5m", get_signal=OneShotLong(lifetime_minutes=30))
        ws.add_frame(
            frame_name="day",
            interval="1m",
            start_date=from_ms(T0 + 1010 * MINUTE),
            end_date=from_ms(T0 + 1900 * MINUTE),
        )
        # An exchange that echoes the key back in an error body: the message must be scrubbed before anyone sees it.
        server.fail_next_klines([(401, f'{{"code": -2015, "msg": "Invalid API-key {API_KEY}, IP, or permissions."}}')])

        async def scenario() -> list[Path]:
            try:
                instance = await source.connection.exchange()
                balance = await instance.fetch_balance()
                assert balance["total"] == {"USDT": 1000.0}
                await download_history(
                    "fake", [SYMBOL], "1m", T0, T0 + 1000 * MINUTE, store=store, on_progress=lambda _: None
                )
                results = [
                    r
                    async for r in ws.Backtest.run(
                        SYMBOL, strategy_name="one-shot", exchange_name="fake", frame_name="day"
                    )
                ]
                assert [r.action for r in results] == ["opened", "closed"]
                # A live run through the same exchange leaves its state (journal, progress) in the SQLite store.
                live = [
                    r.action
                    async for r in ws.Live.run(
                        SYMBOL,
                        strategy_name="live-shot",
                        exchange_name="fake",
                        clock=ws.ReplayClock(from_ms(T0 + 1010 * MINUTE)),
                        until=from_ms(T0 + 1050 * MINUTE),
                    )
                ]
                assert live == ["opened", "closed"]
                await ws.persist.close_persistence()
                return [
                    await ws.Backtest.dump(SYMBOL, "one-shot", reports / f"report.{kind}", format=kind)
                    for kind in ("md", "html", "csv")
                ] + [await ws.Backtest.dump(SYMBOL, "one-shot")]
            finally:
                await source.aclose()

        written = asyncio.run(scenario())

    # The key did work: the private call carried it, and the exchange's echo of it was really received.
    [account] = [request for request in server.requests if request.path == ACCOUNT]
    assert account.headers["x-mbx-apikey"] == API_KEY
    assert server.count(KLINES) >= 3
    log = debug_log.read_text(encoding="utf-8")
    assert "'X-MBX-APIKEY': '***'" in log
    assert "Invalid API-key ***, IP, or permissions." in log
    assert "**Total signals:** 1" in written[0].read_text(encoding="utf-8")

    store.close()
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert debug_log in files
    assert set(written) <= set(files)
    assert user_data / "candles.sqlite3" in files
    assert user_data / "state.sqlite3" in files
    leaks = [
        (str(path.relative_to(tmp_path)), needle)
        for path in files
        for needle in (API_KEY, SECRET)
        if needle.encode() in path.read_bytes()
    ]
    assert leaks == []

    for text in (repr(schema), repr(source), repr(source.connection), str(pickle.dumps(schema))):
        assert API_KEY not in text
        assert SECRET not in text
