"""Issue 16, acceptance 5: API keys appear in no log, report, state, journal, settings or order record of a live run.

A live run trades on the fake binance through the whole chain of a real account
(``SignalBroker(OrderDesk(CcxtVenue.from_keyring(...)))``) with a known key and secret in a memory keyring, ccxt's
verbose mode on and every logger at DEBUG into a file (``debug_log`` of tests/integration/conftest.py); the exchange
echoes the key in an error body once. Then every file the run wrote (the user data, config, cache, log and state
folders all live in the test's tmp_path: the state store, the desk's journal, the report, the settings, the log) and
every order record, fill and balance is searched for the key and the secret, as they are and base64- or URL-encoded:
none. The same pattern for candle downloads, backtests and their reports is tests/integration/test_api_key_secrecy.py.

That no test sends an order anywhere but 127.0.0.1 is tests/architecture/test_orders_stay_local.py.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from urllib.parse import quote, quote_plus

import numpy as np
import platformdirs
from market_clock import MarketClock
from memory_keyring import MemoryKeyring

import workstation as ws
from workstation.exchanges.api_keys import set_api_key
from workstation.exchanges.fake_binance import FAKE_BINANCE_OPTIONS, ORDER, FakeBinance
from workstation.timeutil import MINUTE_MS, from_ms

#: A key and a secret whose URL and base64 forms differ from the plain ones.
API_KEY = "PROOF-KEY+5f1c/9a2e="
SECRET = "PROOF-SECRET+77e2/b04d="
SYMBOL = "BTC/USDT"
STRATEGY = "one-shot"
T0 = 1_704_067_200_000


def forms(text: str) -> list[str]:
    """Return ``text`` as it is, URL-encoded (path and form style) and base64-encoded (standard and URL-safe)."""
    raw = text.encode()
    return [
        text,
        quote(text, safe=""),
        quote_plus(text),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    ]


NEEDLES = [form for text in (API_KEY, SECRET) for form in forms(text)]


def found_in(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


def candles() -> np.ndarray:
    """90 1m candles of BTCUSDT from 2024-01-01 at 42000 (±10), at 42500 from candle 20."""
    rows = np.zeros(90, dtype=ws.CANDLE_DTYPE)
    for minute in range(90):
        price = 42500.0 if minute >= 20 else 42000.0
        rows[minute] = (T0 + minute * MINUTE_MS, price, price + 10, price - 10, price, 100.0)
    return rows


def test_no_key_or_secret_is_written_by_a_live_run_trading_on_the_exchange(
    memory_keyring: MemoryKeyring, debug_log: Path, tmp_path: Path
) -> None:
    set_api_key("binance", API_KEY, SECRET)
    errors: list[str] = []
    ws.listen_error(lambda error: errors.append(error.message))
    with FakeBinance(candles(), api_key=API_KEY, secret=SECRET, present=T0 + 9 * MINUTE_MS) as exchange:
        # An exchange echoing the key in an error: the message must be scrubbed before anyone logs or stores it.
        exchange.fail_next(ORDER, [(500, f"Internal error serving the API-key {API_KEY}")])
        clock = MarketClock(from_ms(T0 + 10 * MINUTE_MS), exchange)
        ws.add_exchange(ws.make_replay_exchange("replayed", exchange.candles, clock))
        shot = [
            ws.Signal(position="long", price_take_profit=42420.0, price_stop_loss=41580.0, minute_estimated_time=60)
        ]
        ws.add_strategy(
            strategy_name=STRATEGY, interval="1m", get_signal=lambda symbol, when: shot.pop() if shot else None
        )

        async def main() -> tuple[list[object], list[Path]]:
            venue = ws.CcxtVenue.from_keyring(
                "binance",
                api_url=exchange.url,
                verbose=True,
                enableRateLimit=False,
                timeout=300,
                **FAKE_BINANCE_OPTIONS,
            )
            desk = ws.OrderDesk(venue, limits=ws.RiskLimits(), clock=clock.now_ms)
            finished = asyncio.Event()
            ws.listen_done_live(lambda _: finished.set())
            try:
                ws.Live.background(
                    SYMBOL,
                    strategy_name=STRATEGY,
                    exchange_name="replayed",
                    clock=clock,
                    until=from_ms(T0 + 60 * MINUTE_MS),
                    broker=ws.SignalBroker(desk),
                )
                await finished.wait()
                await desk.refresh()
                records: list[object] = [
                    *desk.orders(),
                    *desk.fills(),
                    *desk.balances(),
                    *(await venue.fills(SYMBOL)),
                    *(await venue.open_orders()),
                ]
                written = [
                    await ws.Live.dump(SYMBOL, STRATEGY, tmp_path / "reports" / "live.md"),
                    ws.save_settings(),
                    desk.journal_path,
                ]
                return records, written
            finally:
                await desk.aclose()
                await venue.aclose()
                await ws.persist.close_persistence()

        records, written = asyncio.run(main())

    # The run traded with the key: each signed request carried it, and the exchange's echo of it came back.
    signed = [request for request in exchange.requests if "signature" in request.query]
    assert {request.headers["x-mbx-apikey"] for request in signed} == {API_KEY}
    assert found_in(str(signed[0].headers)) == [API_KEY]
    assert sorted({request.method for request in signed if request.path == ORDER}) == ["DELETE", "GET", "POST"]
    assert [order.status for order in exchange.orders()] == ["FILLED", "CANCELED", "FILLED"]
    assert [(type(record).__name__, getattr(record, "status", None)) for record in records][:3] == [
        ("OrderRecord", "closed"),
        ("OrderRecord", "canceled"),
        ("OrderRecord", "closed"),
    ]
    log = debug_log.read_text(encoding="utf-8")
    assert "'X-MBX-APIKEY': '***'" in log
    assert "Internal error serving the API-key ***" in log
    assert [message for message in errors if "Internal error serving the API-key ***" in message] == errors[:1]
    assert "**Closed signals:** 1" in written[0].read_text(encoding="utf-8")

    user_data = Path(platformdirs.user_data_dir("workstation"))
    files = sorted(path for path in tmp_path.rglob("*") if path.is_file())
    assert {debug_log, user_data / "state.sqlite3", user_data / "desk" / "binance.sqlite3", *written} <= set(files)
    leaks = [
        (str(path.relative_to(tmp_path)), needle)
        for path in files
        for needle in NEEDLES
        if needle.encode() in path.read_bytes()
    ]
    assert leaks == []
    texts = [*map(repr, records), *(record.model_dump_json() for record in records), *errors]  # type: ignore[attr-defined]
    assert [found for text in texts for found in found_in(text)] == []
