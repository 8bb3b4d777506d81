"""Fault 6: candles in the candle store (imported or downloaded) are an exchange like any other.

A CSV with ISO dates, imported into the store as the import dialog imports it, is backtested from the command line
as ``stored-csv``; the same file given to ``--csv`` gives the same trades. The walker, the optimizer, the heatmap
and paper trading accept the stored exchange too.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import workstation as ws
from workstation.cli import main
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles
from workstation.timeutil import MINUTE_MS, iso, to_ms

FIRST = datetime(2024, 2, 1, tzinfo=UTC)
DAYS = 3
PERIOD = ["--start", "2024-02-01T01:00", "--end", "2024-02-03T22:00"]


def write_iso_candles(path: Path) -> Path:
    """Three days of the demo's ETH candles, written with ISO dates as a spreadsheet exports them."""
    start = to_ms(FIRST)
    candles = DemoCandles().candles("ETHUSDT", CandleWindow(1, start, start + DAYS * 1440 * MINUTE_MS))
    lines = ["Date,Open,High,Low,Close,Volume"]
    lines += [f"{iso(stamp)[:19]},{o!r},{h!r},{lo!r},{c!r},{v!r}" for stamp, o, h, lo, c, v in candles.tolist()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def iso_csv(tmp_path: Path) -> Path:
    return write_iso_candles(tmp_path / "eth_february.csv")


@pytest.fixture
def stored(iso_csv: Path) -> ws.CandleStore:
    store = ws.CandleStore()  # the user's store (in tmp_path during tests)
    preview = ws.preview_csv(iso_csv)
    assert preview.mapping.time_unit == "iso"
    result = ws.import_candle_csv(store, "csv", "ETHUSDT", "1m", iso_csv, preview.mapping)
    assert result.imported == DAYS * 1440
    return store


def closed_trades(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> list[tuple[Any, ...]]:
    trades: list[tuple[Any, ...]] = []

    def closed(result: Any) -> None:
        if isinstance(result, ws.ClosedResult):
            trades.append((result.signal.pending_at, result.close_timestamp, result.close_reason, result.pnl))

    ws.listen_signal_backtest(closed)
    code = main(["backtest", "--symbol", "ETHUSDT", "--strategy", "sma-cross-market", *PERIOD, *arguments])
    _, err = capsys.readouterr()
    assert code == 0, err
    ws.reset()
    return trades


def test_the_store_offers_its_candles_as_an_exchange(stored: ws.CandleStore) -> None:
    assert stored.exchanges() == ["csv"]
    assert stored.bounds("csv", "ETHUSDT", "1m") == (to_ms(FIRST), to_ms(FIRST) + (DAYS * 1440 - 1) * MINUTE_MS)
    assert ws.exchange_choices() == ["demo"]
    assert ws.exchange_choices(stored=True) == ["demo", "stored-csv"]


def test_stored_candles_and_the_same_file_give_the_same_trades(
    stored: ws.CandleStore, iso_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from_store = closed_trades(["--exchange", "stored-csv"], capsys)
    from_file = closed_trades(["--csv", str(iso_csv)], capsys)

    assert len(from_store) == 52
    assert from_store == from_file


def test_a_symbol_the_store_lacks_is_named_with_what_it_holds(
    stored: ws.CandleStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["backtest", "--exchange", "stored-csv", "--symbol", "BTCUSDT", *PERIOD])
    out, err = capsys.readouterr()

    assert (code, out) == (2, "")
    assert err == (
        "workstation backtest: error: --symbol: the candle store holds no 1m candles of BTCUSDT from 'csv' "
        "(it holds ETHUSDT); download or import them first (Data menu)\n"
    )


def test_the_comparison_requests_and_paper_trading_accept_the_stored_exchange(stored: ws.CandleStore) -> None:
    period = {"start": datetime(2024, 2, 1, 1, tzinfo=UTC), "end": datetime(2024, 2, 3, tzinfo=UTC)}
    walker = ws.WalkerRequest(exchange_name="stored-csv", symbol="ETHUSDT", **period)
    sweep = ws.SweepRequest(exchange_name="stored-csv", symbol="ETHUSDT", **period)
    heat = ws.BacktestRequest(exchange_name="stored-csv", symbol="ETHUSDT", **period)
    prepared = asyncio.run(ws.prepare_backtest(heat))
    paper = asyncio.run(
        ws.prepare_paper_trading(
            ws.PaperTradingRequest(
                strategy_name="sma-cross-market",
                symbol="ETHUSDT",
                source="stored",
                stored_exchange="csv",
                start=datetime(2024, 2, 2, tzinfo=UTC),
            )
        )
    )

    assert (walker.exchange_name, sweep.exchange_name, prepared.exchange_name) == ("stored-csv",) * 3
    assert ws.list_exchanges()[0].note == "candles stored of csv"
    assert paper.exchange_name == "paper-csv-ETHUSDT-20240202T0000-60x"
