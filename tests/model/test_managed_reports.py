"""Reports of managed positions (issue 14): statistics, series, markdown, HTML, CSV and the run history.

The managed run is the peer's ``managed`` strategy on its 1-day file through the parity harness (it matches the
peer bit for bit, tests/acceptance/test_parity.py): nine positions, each with partial closes, five with averaging
in. The partial closes' terms are checked against the peer's own closing PnL on its 30-day rows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from data_paths import BTC_1D_CSV, expected_rows
from test_position_replay import opened_state
from test_walker_report import result as walk_result
from test_walker_report import statistics as walk_of

import workstation as ws
from workstation.clients.pnl import slipped_move
from workstation.clients.position import PositionState
from workstation.config import Config
from workstation.models.position import Entry, PartialClose, PartialPnl
from workstation.models.results import ClosedResult
from workstation.parity import SYMBOL, read_rows, run_parity
from workstation.reports.backtest import CLOSED_SIGNAL_COLUMNS, MANAGED_COLUMNS, POSITION_COLUMNS
from workstation.reports.html import render_backtest_html
from workstation.reports.live import LIVE_COLUMNS, LiveReportStorage
from workstation.reports.statistics import curve_drawdown
from workstation.reports.trades_csv import trade_list_csv
from workstation.reports.walker import PNL_COLUMNS, walker_report

STRATEGY = "sma-cross-managed"
CONFIG = Config()


def managed_run() -> tuple[ws.BacktestStatistics, ws.RunSeries, str]:
    """Run the peer's managed strategy on its 1-day file; return its statistics, series and markdown report."""

    async def scenario() -> tuple[ws.BacktestStatistics, ws.RunSeries, str]:
        await run_parity(BTC_1D_CSV, "managed")
        return (
            await ws.Backtest.get_data(SYMBOL, STRATEGY),
            await ws.Backtest.get_series(SYMBOL, STRATEGY),
            await ws.Backtest.get_report(SYMBOL, STRATEGY),
        )

    return asyncio.run(scenario())


@pytest.fixture(scope="module")
def run() -> tuple[ws.BacktestStatistics, ws.RunSeries, str]:
    return managed_run()


# ---------------------------------------------------------------------------------------------------- the terms


def closed_state(row: dict[str, Any]) -> PositionState:
    """The position of a closed peer row as it closed: its entries and partial closes (its levels do not count)."""
    state = opened_state(row)
    state.entries[:] = [Entry.model_validate(entry) for entry in row["entries"]]
    state.partials[:] = [
        PartialClose(
            type=partial["type"],
            percent=partial["percent"],
            current_price=partial["currentPrice"],
            cost_basis_at_close=partial["costBasisAtClose"],
            entry_count_at_close=partial["entryCountAtClose"],
            timestamp=partial["timestamp"],
        )
        for partial in row["partials"]
    ]
    return state


def remainder_term(state: PositionState, close_price: float) -> float:
    """The money the rest of the position realised at the close: P15.2's remaining-weight term, fees included."""
    invested = state.invested()
    closed = 0.0
    for partial in state.partials:
        closed = closed + (partial.percent / 100) * partial.cost_basis_at_close
    weight = (invested - closed) / invested
    if weight <= 0:
        return 0.0
    move, open_with_slip, close_with_slip = slipped_move(state.is_long, state.eff(), close_price, CONFIG)
    percent = weight * (move - CONFIG.percent_fee * (1 + close_with_slip / open_with_slip))
    return (percent / 100) * invested


def test_the_partial_closes_terms_and_the_rest_add_up_to_the_peers_closing_pnl() -> None:
    rows = [
        row
        for variant in ("managed", "managed-limit")
        for row in read_rows(expected_rows(variant, "30d"))
        if row["action"] == "closed" and row.get("partials")
    ]
    misses = []
    for row in rows:
        state = closed_state(row)
        assert state.pnl(row["pnlPriceClose"], CONFIG).pnl_cost == row["pnlCost"], row["id"]
        realised = state.partial_pnl(CONFIG)
        assert [part.timestamp for part in realised] == [partial["timestamp"] for partial in row["partials"]]
        total = 0.0
        for part in realised:
            assert part.pnl_cost == (part.pnl_percentage / 100) * row["pnlEntries"]
            total = total + part.pnl_cost
        misses.append(abs(total + remainder_term(state, row["pnlPriceClose"]) - row["pnlCost"]))
    # Reordered sums of the same terms: equal to the last bits of a $100-$300 position's PnL.
    assert len(rows) == 508
    assert max(misses) <= 4.5e-16
    assert sum(1 for miss in misses if miss == 0) == 208


def test_a_position_closed_by_its_partials_realised_all_its_pnl_there(run: Any) -> None:
    statistics, _, _ = run
    fully_closed = [result for result in statistics.signal_list if result.signal.partial_executed == 100.0]
    assert [result.close_reason for result in fully_closed] == ["closed", "closed"]
    for result in fully_closed:
        total = 0.0
        for part in result.partial_pnl:
            total = total + part.pnl_cost
        assert total == pytest.approx(result.pnl.pnl_cost, abs=1e-15)


# ---------------------------------------------------------------------------------------------------- statistics


def test_statistics_of_a_managed_run(run: Any) -> None:
    statistics, _, _ = run
    closed = statistics.signal_list
    assert [(result.signal.total_entries, result.signal.total_partials) for result in closed] == [
        (2, 1), (2, 1), (1, 2), (2, 1), (1, 1), (2, 1), (1, 2), (1, 2), (1, 2),
    ]  # fmt: skip
    # Money on every entry: a position that averaged in invested $200 (or $150), not the $100 position cost.
    assert [result.pnl.pnl_entries for result in closed] == [200.0, 200.0, 100.0, 150.0, 100.0, 200.0, 100.0, 100.0,
                                                             100.0]  # fmt: skip
    assert closed[0].pnl.pnl_cost == -2.1612974443567943
    assert closed[0].partial_pnl == (
        PartialPnl(timestamp=1704080940000, pnl_percentage=-0.47469456363520807, pnl_cost=-0.9493891272704162),
    )
    assert (statistics.total_signals, statistics.win_count, statistics.loss_count) == (9, 3, 6)
    # Summed newest first as backtest-kit 19.5 sums (-3.239140698411057 oldest first, as the series adds up).
    assert statistics.total_pnl == -3.2391406984110565
    assert statistics.total_fees == 2.498730841985302
    # The excursions: the first position (stopped out) never showed a gain and fell to its stop.
    first = closed[0].signal
    assert first.peak_profit is not None and first.max_drawdown is not None
    assert (first.peak_profit.pnl_percentage, first.max_drawdown.pnl_percentage) == (0.0, -1.0806487221783971)
    assert (statistics.avg_peak_pnl, statistics.avg_fall_pnl) == (0.07915764249167087, -0.6770067329773661)
    # Stepped at the closes alone, the additive curve's deepest fall (the series steps at partial closes too).
    assert curve_drawdown(np.cumsum([result.pnl.pnl_percentage for result in closed]).tolist()) == 3.508028876543952
    # 9 trades: 19.5 gives no ratio below 10.
    assert (statistics.calmar_ratio, statistics.recovery_factor) == (None, None)


def test_the_heatmap_row_of_a_managed_run_has_the_stepped_drawdown() -> None:
    managed_run()
    heat = asyncio.run(ws.Heat.get_data(STRATEGY))
    [row] = heat.symbols
    assert (row.symbol, row.total_trades, row.total_pnl) == (SYMBOL, 9, -3.239140698411057)
    assert row.max_drawdown == 3.5766955403648235


def test_series_steps_at_each_partial_close(run: Any) -> None:
    statistics, series, _ = run
    closed = statistics.signal_list
    assert series.step_times.tolist()[:5] == [
        1704080940000,  # the first position's partial close
        1704081180000,  # its close
        1704084840000,
        1704086700000,
        1704093000000,
    ]
    assert series.equity.tolist()[:2] == [-0.47469456363520807, -1.0806487221783971]
    assert series.equity_money.tolist()[:2] == [-0.9493891272704162, -2.1612974443567943]
    assert len(series.step_times) == len(series.equity) == len(series.underwater) == 22
    assert np.all(np.diff(series.step_times) > 0)
    # At each close the curve is the running sum of the closed PnL, bit for bit; its steps are the partial closes.
    closes = np.isin(series.step_times, series.close_times)
    assert np.array_equal(series.equity[closes], np.cumsum(series.trade_pnl))
    assert np.array_equal(series.equity_money[closes], np.cumsum(series.trade_pnl_money))
    assert series.step_times[~closes].tolist() == [part.timestamp for result in closed for part in result.partial_pnl]
    assert series.equity[-1] == -3.239140698411057
    # The curve steps at each partial close: the seventh position fell to its trough at its first partial close.
    assert -series.underwater.min() == 3.5766955403648235
    [drawdown] = series.worst_drawdowns
    assert (drawdown.trough, drawdown.recovery, drawdown.depth) == (1704119460000, None, 3.5766955403648235)
    assert len(series.trade_pnl) == len(series.close_times) == 9


# ---------------------------------------------------------------------------------------------------- reports


def test_the_markdown_report_shows_entries_partial_closes_and_original_levels(run: Any) -> None:
    _, _, report = run
    lines = report.splitlines()
    assert lines[2] == "| " + " | ".join(CLOSED_SIGNAL_COLUMNS + MANAGED_COLUMNS) + " |"
    assert lines[4] == (
        "| managed-1704075900000 | BTCUSDT | LONG | SMA 20/50 cross | 41231.40304196 USD | 40895.47063573 USD "
        "| 41721.64175969 USD | 40895.47063573 USD | -1.08% | stop_loss | 88 | 2024-01-01T02:25:00.000Z "
        "| 2024-01-01T03:53:00.000Z | 2 | 1 | 50.00% | 41308.55619771 USD | 41721.64175969 USD | 40895.47063573 USD |"
    )
    assert lines[10] == (
        "| managed-1704118800000 | BTCUSDT | SHORT | SMA 20/50 cross | 40879.99178820 USD | 40562.45925669 USD "
        "| 40471.19187032 USD | 40821.61313926 USD | +0.02% | closed | 13 | 2024-01-01T14:20:00.000Z "
        "| 2024-01-01T14:33:00.000Z | 1 | 2 | 100.00% | 40879.99178820 USD | 40471.19187032 USD | 41288.79170608 USD |"
    )
    assert "**Avg Max Drawdown PNL:** -0.68% (closer to 0 is better)" in lines


def test_the_html_report_lists_the_managed_columns(run: Any) -> None:
    statistics, series, _ = run
    page = render_backtest_html(statistics, series)
    assert '<th class="num">Entries</th><th class="num">Partial Closes</th>' in page
    assert (
        '<td class="num">2</td><td class="num">1</td><td class="num">50.00%</td>'
        '<td class="num">41308.55619771 USD</td>' in page
    )


def test_the_live_report_counts_entries_and_partial_closes(run: Any) -> None:
    statistics, _, _ = run
    storage = LiveReportStorage()
    for result in statistics.signal_list[:2]:
        storage.add(result.model_copy(update={"backtest": False}), max_rows=10)
    lines = storage.get_report(SYMBOL, STRATEGY).splitlines()
    assert lines[2] == "| " + " | ".join(LIVE_COLUMNS + POSITION_COLUMNS) + " |"
    assert lines[4].endswith("| -1.08% | stop_loss | 88 | 2 | 1 | 50.00% |")
    assert lines[5].endswith("| -0.59% | stop_loss | 50 | 2 | 1 | 20.00% |")
    assert "**Avg Max Drawdown PNL:** -0.83% (closer to 0 is better)" in lines


def test_the_walker_report_counts_entries_and_partial_closes(run: Any) -> None:
    statistics, _, _ = run
    total = statistics.total_pnl
    walk = walk_of([walk_result(STRATEGY, total, statistics)], best=STRATEGY, best_metric=total, metric="total_pnl")
    lines = walker_report(walk, top_n=1).splitlines()
    header = lines.index("## All Signals (PNL Table)") + 2
    assert lines[header] == "| " + " | ".join(PNL_COLUMNS + POSITION_COLUMNS) + " |"
    assert lines[header + 2] == (
        "| sma-cross-managed | managed-1704075900000 | BTCUSDT | LONG | -1.08% | stop_loss "
        "| 2024-01-01T02:25:00.000Z | 2024-01-01T03:53:00.000Z | 2 | 1 | 50.00% |"
    )


def test_the_trade_csv_reads_back_into_the_closed_results(run: Any) -> None:
    statistics, _, _ = run
    text = trade_list_csv(statistics.signal_list)
    rows = list(csv.DictReader(io.StringIO(text)))
    first = rows[0]
    assert (first["signal.total_entries"], first["signal.total_partials"], first["signal.partial_executed"]) == (
        "2",
        "1",
        "50.0",
    )
    assert first["signal.original_price_open"] == "41308.55619770999"
    assert first["signal.price_open"] == "41231.40304196479"
    for row, result in zip(rows, statistics.signal_list, strict=True):
        signal = result.signal
        assert tuple(Entry.model_validate(entry) for entry in json.loads(row["signal.entries"])) == signal.entries
        partials = json.loads(row["signal.partials"])
        assert tuple(PartialClose.model_validate(partial) for partial in partials) == signal.partials
        realised = json.loads(row["partial_pnl"])
        assert tuple(PartialPnl.model_validate(part) for part in realised) == result.partial_pnl
    assert json.loads(rows[0]["signal.partials"])[0]["cost_basis_at_close"] == 200.0


# ---------------------------------------------------------------------------------------------------- history


def save_run(path: Path) -> int:
    store = ws.RunHistory(path)
    run_id = asyncio.run(
        store.save_backtest(
            SYMBOL, STRATEGY, exchange_name="csv-exchange", parameters={}, state="finished", started_at_ms=0
        )
    )
    store.close()
    return run_id


def test_a_stored_managed_run_loads_back_unchanged(tmp_path: Path) -> None:
    statistics, series, _ = managed_run()
    path = tmp_path / "runs.sqlite3"
    run_id = save_run(path)

    reader = ws.RunHistory(path)
    stored = reader.load(run_id)
    reader.close()

    assert stored.closed_results == statistics.signal_list
    assert stored.closed_results[0].partial_pnl == statistics.signal_list[0].partial_pnl != ()
    assert stored.statistics == statistics
    for name in ("step_times", "equity", "equity_money", "underwater", "close_times", "trade_pnl_money"):
        assert np.array_equal(getattr(stored.series, name), getattr(series, name)), name
    assert stored.series.worst_drawdowns == series.worst_drawdowns


#: The fields a stored trade gained with position management; a history written before has none of them.
MANAGED_FIELDS = ("original_price_open", "original_price_take_profit", "original_price_stop_loss", "entries",
                  "partials", "partial_executed", "total_entries", "total_partials")  # fmt: skip


def test_a_history_written_before_position_management_still_loads(tmp_path: Path) -> None:
    statistics, series, _ = managed_run()
    path = tmp_path / "runs.sqlite3"
    run_id = save_run(path)
    with closing(sqlite3.connect(path)) as connection, connection:
        trades = connection.execute("SELECT seq, result FROM trades WHERE run_id = ?", (run_id,)).fetchall()
        for seq, text in trades:
            old = json.loads(text)
            del old["partial_pnl"]
            # Nor the excursions, kept since issue 15.
            for name in (*MANAGED_FIELDS, "peak_profit", "max_drawdown"):
                del old["signal"][name]
            connection.execute(
                "UPDATE trades SET result = ? WHERE run_id = ? AND seq = ?", (json.dumps(old), run_id, seq)
            )

    reader = ws.RunHistory(path)
    stored = reader.load(run_id)
    reader.close()

    first: ClosedResult = stored.closed_results[0]
    # Nothing moved an old trade's levels: its originals are its levels; no entries, partial closes or steps.
    signal = first.signal
    assert (signal.original_price_open, signal.original_price_stop_loss) == (41231.40304196479, 40895.47063573289)
    assert (signal.entries, signal.partials, signal.partial_executed, first.partial_pnl) == ((), (), 0.0, ())
    assert [result.pnl for result in stored.closed_results] == [result.pnl for result in statistics.signal_list]
    assert stored.statistics.total_pnl == statistics.total_pnl
    # Rows stored before the engine kept excursions have none: no peak or fall to average.
    assert (signal.peak_profit, signal.max_drawdown) == (None, None)
    assert (stored.statistics.avg_peak_pnl, stored.statistics.avg_fall_pnl) == (None, None)
    assert np.array_equal(stored.series.step_times, series.close_times)
