"""SPEC §19.3 H1 and §13: the portfolio heatmap of a strategy, fed by the event hub and by real backtests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import workstation as ws

from .fixtures import STRATEGY, L, collect, register_scenario, run_backtest, signal, ts

B1_PNL = 0.5974035964036354  # SPEC §19.2 B1 (= §7 P3): a long closed by its +1 % take profit

HEADER = (
    "| Symbol | Total PNL | Sharpe | PF | Expect | WR | Avg Win | Avg Loss | Max DD | W Streak | L Streak | Trades |"
)
SEPARATOR = "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
H1_BTC_ROW = "| BTCUSDT | +1.80% | 0.32 | 1.95 | +0.45% | 50.0% | +1.85% | -0.95% | -1.10% | 1 | 1 | 4 |"
H1_ETH_ROW = "| ETHUSDT | +0.60% | N/A | N/A | N/A | 100.0% | +0.60% | N/A | 0.00% | 1 | 0 | 1 |"


def closed(
    symbol: str, pnl: float, index: int, *, strategy_name: str = STRATEGY, backtest: bool = True
) -> ws.ClosedResult:
    """Return a closed long of ``symbol`` with net PnL ``pnl``, opened at ``ts(index)`` and closed a minute later."""
    opened_at = ts(index)
    row = ws.SignalRow(
        id=f"{strategy_name}:{symbol}:{opened_at}",
        position="long",
        note="",
        price_open=42000.0,
        price_take_profit=42420.0,
        price_stop_loss=41580.0,
        minute_estimated_time=120,
        symbol=symbol,
        exchange_name="ladder",
        strategy_name=strategy_name,
        frame_name="F",
        scheduled_at=opened_at,
        pending_at=opened_at,
        is_scheduled=False,
    )
    return ws.ClosedResult(
        symbol=symbol,
        strategy_name=strategy_name,
        exchange_name="ladder",
        frame_name="F",
        backtest=backtest,
        timestamp=opened_at + 60_000,
        current_price=42000.0,
        signal=row,
        close_reason="take_profit" if pnl > 0 else "stop_loss",
        close_timestamp=opened_at + 60_000,
        pnl=ws.Pnl(
            pnl_percentage=pnl,
            pnl_cost=pnl,
            pnl_entries=100.0,
            price_open=42000.0,
            price_close=42000.0,
            fee_cost=0.2,
        ),
    )


def emit_closed(symbol: str, pnls: list[float], *, strategy_name: str = STRATEGY, backtest: bool = True) -> None:
    """Emit one closed result per PnL on ``signal_backtest`` (or ``signal_live``), as the engine does."""
    stream = ws.events.signal_backtest if backtest else ws.events.signal_live
    for index, pnl in enumerate(pnls):
        stream.emit(closed(symbol, pnl, index, strategy_name=strategy_name, backtest=backtest))


def heat_data(strategy_name: str = STRATEGY, *, backtest: bool = True) -> ws.HeatmapStatistics:
    return asyncio.run(ws.Heat.get_data(strategy_name, backtest=backtest))


def heat_report(strategy_name: str = STRATEGY, *, backtest: bool = True) -> str:
    return asyncio.run(ws.Heat.get_report(strategy_name, backtest=backtest))


def run_h1() -> None:
    """ETHUSDT: B1 run for real (one take profit); BTCUSDT: the S1 PnLs [1.5, -0.8, 2.2, -1.1] through the hub."""
    run = run_backtest(signal(L), symbol="ETHUSDT", steps={20: 42500})
    assert [r.pnl.pnl_percentage for r in run.results if r.action == "closed"] == [B1_PNL]
    emit_closed("BTCUSDT", [1.5, -0.8, 2.2, -1.1])


def test_h1_rows_and_portfolio_totals() -> None:
    """Check H1: BTCUSDT's row by hand, ETHUSDT's single trade, and the portfolio totals.

    BTCUSDT: total 1.8000000000000003, avg 0.45000000000000007, std 1.4256577429383253 -> sharpe
    0.3156437807243525; PF 3.7 / 1.9 = 1.947...; avg win 1.85, avg loss -0.95; expectancy 0.5 * 1.85 + 0.5 * -0.95
    = 0.45; drawdown 2.9 -> 1.8 = 1.1. ETHUSDT: one trade, so no std, no Sharpe, no loss (PF, expectancy None).
    Portfolio: 1.8000000000000003 + 0.5974035964036354 = 2.3974035964036355; sharpe 0.3156437807243525 * 4 / 5.
    """
    run_h1()
    data = heat_data()
    assert data.total_symbols == 2
    assert [row.symbol for row in data.symbols] == ["BTCUSDT", "ETHUSDT"]  # ETHUSDT arrived first: sorted by Sharpe
    assert data.portfolio_total_pnl == 2.3974035964036355
    assert data.portfolio_sharpe_ratio == 0.252515024579482
    assert data.portfolio_total_trades == 5

    btc, eth = data.symbols
    assert (btc.total_trades, btc.win_count, btc.loss_count, btc.win_rate) == (4, 2, 2, 50.0)
    assert (btc.total_pnl, btc.avg_pnl) == (1.8000000000000003, 0.45000000000000007)
    assert (btc.std_dev, btc.sharpe_ratio) == (1.4256577429383253, 0.3156437807243525)
    assert (btc.max_drawdown, btc.profit_factor) == (1.1, 1.9473684210526316)
    assert (btc.avg_win, btc.avg_loss, btc.expectancy) == (1.85, -0.9500000000000001, 0.45)
    assert (btc.max_win_streak, btc.max_loss_streak) == (1, 1)
    assert (eth.total_trades, eth.win_count, eth.loss_count, eth.win_rate) == (1, 1, 0, 100.0)
    assert (eth.total_pnl, eth.avg_pnl, eth.avg_win) == (B1_PNL, B1_PNL, B1_PNL)
    assert (eth.std_dev, eth.sharpe_ratio, eth.profit_factor, eth.avg_loss, eth.expectancy) == (None,) * 5
    assert (eth.max_drawdown, eth.max_win_streak, eth.max_loss_streak) == (0.0, 1, 0)

    lines = heat_report().split("\n")
    assert H1_BTC_ROW in lines
    assert H1_ETH_ROW in lines


def test_h1_whole_report() -> None:
    run_h1()
    assert heat_report() == "\n".join(
        [
            "# Portfolio Heatmap: one-shot",
            "",
            "**Total Symbols:** 2 | **Portfolio PNL:** +2.40% | **Portfolio Sharpe:** 0.25 | **Total Trades:** 5",
            "",
            HEADER,
            SEPARATOR,
            H1_BTC_ROW,
            H1_ETH_ROW,
        ]
    )


def test_heat_and_backtest_statistics_agree_on_shared_figures() -> None:
    run_backtest(signal(L), symbol="ETHUSDT", steps={20: 42500})
    stats = asyncio.run(ws.Backtest.get_data("ETHUSDT", STRATEGY))
    (row,) = heat_data().symbols
    assert (row.avg_win, row.avg_loss, row.profit_factor, row.expectancy) == (
        stats.avg_win,
        stats.avg_loss,
        stats.profit_factor,
        stats.expectancy,
    )
    assert (row.max_win_streak, row.max_loss_streak) == (stats.max_consecutive_wins, stats.max_consecutive_losses)


def test_empty_heatmap() -> None:
    data = heat_data()
    assert data.symbols == []
    assert (data.total_symbols, data.portfolio_total_trades) == (0, 0)
    assert (data.portfolio_total_pnl, data.portfolio_sharpe_ratio) == (None, None)
    assert heat_report() == "# Portfolio Heatmap: one-shot\n\n*No data available*"
    # Backtest rows do not show in the live heatmap, nor in another strategy's.
    emit_closed("BTCUSDT", [1.0])
    assert heat_report(backtest=False) == "# Portfolio Heatmap: one-shot\n\n*No data available*"
    assert heat_data("other").symbols == []


def test_rows_sorted_by_sharpe_descending_with_none_last_in_arrival_order() -> None:
    """Check the order: Sharpe 1/1 = 1.0 (CCC) before 0.5/1.5 (BBB, then its twin EEE); None rows keep arrival order.

    AAA has one trade and DDD identical trades (std 0 after the noise floor), so neither has a Sharpe ratio.
    """
    emit_closed("AAA", [5.0])
    emit_closed("BBB", [2.0, -1.0])
    emit_closed("DDD", [-0.3996003996003651] * 3)
    emit_closed("CCC", [2.0, 0.0])
    emit_closed("EEE", [2.0, -1.0])
    data = heat_data()
    assert [row.symbol for row in data.symbols] == ["CCC", "BBB", "EEE", "AAA", "DDD"]
    assert [row.sharpe_ratio for row in data.symbols] == [1.0, 1 / 3, 1 / 3, None, None]
    # (1.0 * 2 + 1/3 * 2 + 1/3 * 2) / 10 trades, added in row order.
    assert data.portfolio_sharpe_ratio == (((0.0 + 2.0) + 2 / 3) + 2 / 3) / 10
    assert data.portfolio_total_trades == 10


def test_portfolio_sharpe_is_none_when_no_row_has_one() -> None:
    emit_closed("BTCUSDT", [1.0])
    emit_closed("ETHUSDT", [-2.0])
    data = heat_data()
    assert data.portfolio_sharpe_ratio is None
    assert data.portfolio_total_pnl == -1.0
    assert heat_report().split("\n")[2] == (
        "**Total Symbols:** 2 | **Portfolio PNL:** -1.00% | **Portfolio Sharpe:** N/A | **Total Trades:** 2"
    )
    assert (
        heat_report().split("\n")[-1]
        == "| ETHUSDT | -2.00% | N/A | N/A | N/A | 0.0% | N/A | -2.00% | -2.00% | 0 | 1 | 1 |"
    )


def test_a_new_backtest_run_clears_only_its_own_symbol_row() -> None:
    scenario = register_scenario(L, steps={20: 42500})
    asyncio.run(collect("BTCUSDT"))
    scenario.strategy.rearm()
    asyncio.run(collect("ETHUSDT"))
    emit_closed("BTCUSDT", [-1.0], backtest=False)
    emit_closed("BTCUSDT", [-2.0], strategy_name="other")
    assert [(row.symbol, row.total_trades) for row in heat_data().symbols] == [("BTCUSDT", 1), ("ETHUSDT", 1)]

    scenario.strategy.rearm()
    asyncio.run(collect("BTCUSDT"))
    # Without the clear BTCUSDT would hold both runs' trades; ETHUSDT's row, BTCUSDT's live row and the other
    # strategy's row are not this pair in this mode.
    data = heat_data()
    assert {row.symbol: (row.total_trades, row.total_pnl) for row in data.symbols} == {
        "BTCUSDT": (1, B1_PNL),
        "ETHUSDT": (1, B1_PNL),
    }
    assert data.portfolio_total_trades == 2
    assert [(row.symbol, row.total_pnl) for row in heat_data(backtest=False).symbols] == [("BTCUSDT", -1.0)]
    assert [(row.symbol, row.total_pnl) for row in heat_data("other").symbols] == [("BTCUSDT", -2.0)]


def test_live_results_fill_the_live_heatmap() -> None:
    emit_closed("BTCUSDT", [1.5, -0.8], backtest=False)
    (row,) = heat_data(backtest=False).symbols
    assert (row.symbol, row.total_trades, row.total_pnl) == ("BTCUSDT", 2, 0.7)
    assert heat_data().symbols == []


def test_reset_forgets_every_row() -> None:
    emit_closed("BTCUSDT", [1.5])
    emit_closed("BTCUSDT", [1.5], backtest=False)
    ws.reset()
    assert heat_data().symbols == []
    assert heat_data(backtest=False).symbols == []


def test_dump_writes_the_report_to_the_default_path_or_the_given_one(tmp_path: Path) -> None:
    run_h1()
    default = asyncio.run(ws.Heat.dump(STRATEGY))
    assert default == tmp_path / "user_data_dir" / "reports" / "heat" / "one-shot.md"
    assert default.read_text(encoding="utf-8") == heat_report()

    chosen = asyncio.run(ws.Heat.dump(STRATEGY, backtest=False, path=tmp_path / "live" / "heat.md"))
    assert chosen == tmp_path / "live" / "heat.md"
    assert chosen.read_text(encoding="utf-8") == "# Portfolio Heatmap: one-shot\n\n*No data available*"
