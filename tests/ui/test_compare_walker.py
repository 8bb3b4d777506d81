"""The walker view: a real walk of the four built-in strategies on two demo days, ranked row by row; Stop keeps
the rows done so far; a double-click opens the strategy's backtest; screenshots in both themes.
"""

from __future__ import annotations

import asyncio
import os
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QComboBox
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.compare.common import METRICS
from ui.compare.walker_view import WalkerView
from ui.themes import apply_theme

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 2, 23, 59, tzinfo=UTC)
BUILT_INS = ["sma-cross-market", "sma-cross-limit", "rsi-reversion", "breakout"]
#: Sharpe ratios of the four built-ins on the demo BTCUSDT candles of START..END (the engine's own backtests), by
#: backtest-kit 19.5's rules: none below 10 trades (rsi-reversion trades 4 times, breakout 3).
SHARPE = {
    "sma-cross-market": -0.3614133875850547,
    "sma-cross-limit": -0.3699201848990164,
    "rsi-reversion": None,
    "breakout": None,
}


@pytest.fixture
def view(qtbot: QtBot, qloop: qasync.QEventLoop) -> Iterator[tuple[WalkerView, list[ws.BacktestRequest]]]:
    opened: list[ws.BacktestRequest] = []
    walker = WalkerView(opened.append)
    qtbot.addWidget(walker)
    walker.resize(1200, 560)
    walker.form.set_values({"exchange_name": "demo", "symbol": "BTCUSDT", "start": START, "end": END})
    walker.strategies.set_checked(BUILT_INS)
    walker.show()
    yield walker, opened
    qloop.run_until_complete(walker.shutdown())


def walk(qloop: qasync.QEventLoop, walker: WalkerView) -> None:
    async def scenario() -> None:
        task = walker.run()
        assert task is not None
        await task

    qloop.run_until_complete(scenario())


def ranked_names(walker: WalkerView) -> list[str]:
    return [entry.strategy_name for entry in walker.ranking.entries()]


def test_the_metric_choice_offers_every_walker_metric_by_its_title(qtbot: QtBot) -> None:
    walker = WalkerView(lambda _request: None)
    qtbot.addWidget(walker)
    combo = walker.form.editors["metric"].widget
    assert isinstance(combo, QComboBox)
    offered = [(combo.itemData(index), combo.itemText(index)) for index in range(combo.count())]
    assert [value for value, _text in offered] == list(typing.get_args(ws.WalkerMetric)) == list(METRICS)
    assert offered[:2] == [("sharpe_ratio", "Sharpe ratio"), ("annualized_sharpe_ratio", "Annualized Sharpe")]
    walker.deleteLater()


def test_the_ranking_fills_row_by_row_while_the_walk_runs_and_ends_sorted_by_the_metric(
    view: tuple[WalkerView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop
) -> None:
    walker, _opened = view
    seen: list[tuple[list[str], bool]] = []

    def on_insert(_parent: QModelIndex, _first: int, _last: int) -> None:
        seen.append((ranked_names(walker), walker.running))

    walker.ranking.rowsInserted.connect(on_insert)
    walk(qloop, walker)

    # One row per finished strategy, each inserted at its place while the walk still ran.
    assert seen == [
        (["sma-cross-market"], True),
        (["sma-cross-market", "sma-cross-limit"], True),
        (["sma-cross-market", "sma-cross-limit", "rsi-reversion"], True),
        (["sma-cross-market", "sma-cross-limit", "rsi-reversion", "breakout"], True),
    ]
    assert [entry.metric_value for entry in walker.ranking.entries()] == [
        SHARPE["sma-cross-market"],
        SHARPE["sma-cross-limit"],
        None,
        None,
    ]
    assert walker.ranking.headers()[2] == "Sharpe ratio"
    # Beside the metric: trades, win rate, the account's return and max drawdown (of the equity peak), total PnL %.
    assert walker.ranking.headers()[3:] == ["Trades", "Win rate", "Return", "Max DD", "Total PnL"]
    assert walker.ranking.texts(0) == ["1", "sma-cross-market", "-0.361", "23", "52.17%", "-0.08%", "-0.08%", "-7.67%"]
    assert walker.ranking.texts(3)[:4] == ["4", "breakout", "—", "3"]
    assert walker.status.text() == ("Finished: 4 of 4 strategies ranked. Double-click one to open its backtest.")
    assert walker.run_button.isEnabled() and not walker.stop_button.isEnabled()


def test_stop_after_the_first_strategy_keeps_its_row_and_starts_no_other(
    view: tuple[WalkerView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    walker, _opened = view
    running: list[bool] = []
    walker.running_changed.connect(running.append)

    def stop_on_first_row(_parent: QModelIndex, _first: int, _last: int) -> None:
        if walker.ranking.rowCount() == 1:
            qtbot.mouseClick(walker.stop_button, Qt.MouseButton.LeftButton)

    walker.ranking.rowsInserted.connect(stop_on_first_row)
    walk(qloop, walker)

    assert ranked_names(walker) == ["sma-cross-market"]
    assert walker.ranking.entries()[0].metric_value == SHARPE["sma-cross-market"]
    assert walker.status.text() == "Stopped: 1 of 4 strategies ranked."
    assert running == [True, False]
    assert walker.run_button.isEnabled() and not walker.stop_button.isEnabled()
    # The next run ranks afresh.
    walker.ranking.rowsInserted.disconnect(stop_on_first_row)
    walk(qloop, walker)
    assert ranked_names(walker) == ["sma-cross-market", "sma-cross-limit", "rsi-reversion", "breakout"]


def test_double_clicking_a_strategy_opens_its_backtest_on_the_same_market_and_period(
    view: tuple[WalkerView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    walker, opened = view
    walk(qloop, walker)
    walker.form.set_values({"symbol": "ETHUSDT"})  # a later edit does not change what was ranked

    index = walker.ranking.index(1, 1)
    rect = walker.table.visualRect(index)
    qtbot.mouseClick(walker.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(walker.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    assert opened == [
        ws.BacktestRequest(
            exchange_name="demo",
            symbol="BTCUSDT",
            strategy_name="sma-cross-limit",
            start=START,
            end=END,
            percent_fee=0.1,
            percent_slippage=0.1,
            position_entry_cost=100.0,
        )
    ]


def test_run_needs_a_ticked_strategy(view: tuple[WalkerView, list[ws.BacktestRequest]]) -> None:
    walker, _opened = view
    walker.strategies.set_checked([])
    assert not walker.run_button.isEnabled()
    assert walker.strategies_error.text() == "Tick at least one strategy to compare."
    assert walker.run() is None
    walker.strategies.set_checked(["breakout"])
    assert walker.run_button.isEnabled() and walker.strategies_error.isHidden()


def test_screenshots_of_a_ranked_walk_in_both_themes(
    view: tuple[WalkerView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop, qapp: QApplication
) -> None:
    walker, _opened = view
    walk(qloop, walker)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for theme in ("dark", "light"):
            apply_theme(qapp, theme)
            qapp.processEvents()
            image = walker.grab().toImage()
            image.save(str(SHOTS / f"compare_walker_{theme}.png"))
            # The only gain's Total PnL cell (rsi-reversion, third) is tinted green, the deepest loss's red (first).
            pnl_best = walker.table.visualRect(walker.ranking.index(2, walker.ranking.pnl_column())).center()
            pnl_worst = walker.table.visualRect(walker.ranking.index(0, walker.ranking.pnl_column())).center()
            offset = walker.table.viewport().mapTo(walker, pnl_best) - pnl_best
            best = image.pixelColor(pnl_best + offset)
            worst = image.pixelColor(pnl_worst.__class__(pnl_worst.x() - 30, pnl_worst.y()) + offset)
            assert best.green() > best.red(), (theme, best.name())
            assert worst.red() > worst.green(), (theme, worst.name())
    finally:
        qapp.setPalette(qapp.style().standardPalette())
        qapp.setStyleSheet("")
    asyncio.set_event_loop(qloop)


def test_a_strategy_whose_backtest_cannot_run_is_listed_last_as_failed(
    view: tuple[WalkerView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop
) -> None:
    walker, _opened = view

    def quit_the_program(symbol: str, when: datetime) -> None:
        raise SystemExit(2)

    ws.add_strategy(strategy_name="quitter", interval="1h", get_signal=quit_the_program)
    walker.refresh_choices()
    walker.strategies.set_checked(["quitter", "sma-cross-limit"])
    aborted = 'StrategyAbortedError: strategy "quitter" raised SystemExit: 2 in get_signal; its run was ended'

    walk(qloop, walker)

    assert ranked_names(walker) == ["sma-cross-limit", "quitter"]
    assert walker.ranking.texts(0)[:3] == ["1", "sma-cross-limit", "-0.370"]
    assert walker.ranking.texts(1) == ["—", "quitter", "failed", "—", "—", "—", "—", "—"]
    assert walker.ranking.entries()[1].error == aborted
    tooltip = walker.ranking.data(walker.ranking.index(1, 2), Qt.ItemDataRole.ToolTipRole)
    assert tooltip == f"The backtest of quitter failed: {aborted}"
    assert walker.status.text() == (
        "Finished: 1 of 2 strategies ranked · 1 failed (see the Log). Double-click one to open its backtest."
    )


def test_a_walk_beside_a_running_backtest_of_the_same_pair_ranks_both(
    view: tuple[WalkerView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop
) -> None:
    """Runs never collide (issue 13): the walk's backtest of sma-cross-market starts beside a run of the same pair."""
    walker, _opened = view
    walker.strategies.set_checked(["sma-cross-market", "sma-cross-limit"])

    async def scenario() -> ws.BacktestStatistics:
        prepared = await ws.prepare_backtest(
            ws.BacktestRequest(
                exchange_name="demo", symbol="BTCUSDT", strategy_name="sma-cross-market", start=START, end=END
            )
        )
        standalone = ws.Backtest.run(
            "BTCUSDT",
            strategy_name=prepared.strategy_name,
            exchange_name=prepared.exchange_name,
            frame_name=prepared.frame_name,
        )
        await anext(standalone)
        task = walker.run()
        assert task is not None
        await task
        async for _result in standalone:
            pass
        return await standalone.get_data()

    standalone = qloop.run_until_complete(scenario())

    assert ranked_names(walker) == ["sma-cross-market", "sma-cross-limit"]
    assert [walker.ranking.texts(row)[:3] for row in range(2)] == [
        ["1", "sma-cross-market", "-0.361"],
        ["2", "sma-cross-limit", "-0.370"],
    ]
    assert standalone.sharpe_ratio == SHARPE["sma-cross-market"]
    assert walker.status.text() == ("Finished: 2 of 2 strategies ranked. Double-click one to open its backtest.")


def test_each_tested_strategy_s_equity_is_overlaid_normalised_to_the_starting_balance(
    view: tuple[WalkerView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop
) -> None:
    walker, _opened = view
    walk(qloop, walker)

    curves = walker.equity.curves
    # In the order the strategies finished, each from 100 % of the starting balance.
    assert [curve.name() for curve in curves] == BUILT_INS
    for name, curve in zip(BUILT_INS, curves, strict=True):
        account = qloop.run_until_complete(ws.Backtest.get_account("BTCUSDT", name))
        days, percent = curve.getData()
        assert (days[0], percent[0]) == (0.0, 100.0)
        assert percent[-1] == account.final_equity / account.starting_balance * 100
    Path("/tmp/money").mkdir(exist_ok=True)
    walker.grab().save("/tmp/money/walker_dark.png")
