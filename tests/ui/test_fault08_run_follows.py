"""Fault 8: while a run works, the status line counts the trades the table shows, and the chart follows the
newest trade until the trader moves the view."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
import qasync
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from signal_factory import flat_candles

import workstation as ws
from ui.app import demo_request
from ui.backtest.run_tab import RunTab
from ui.charts import DARK_PALETTE, CandleChart, SignalMarks

T0 = 1_704_103_200_000  # 2024-01-01 10:00 UTC
MIN = 60_000
ONE_WEEK = demo_request(days=7)
#: The same run of a strategy that pauses now and then, so that the run spans many of the tab's update beats
#: however fast the machine is (the test then sees the view while the run works, not only its end).
PACED_WEEK = ONE_WEEK.model_copy(update={"strategy_name": "paced-sma-cross"})


class Paced:
    """Wraps ``get_signal``: every 20th call also sleeps 50 ms."""

    def __init__(self, get_signal: Callable[[str, Any], Any]) -> None:
        self.get_signal = get_signal
        self.calls = 0

    async def __call__(self, symbol: str, when: Any) -> Any:
        self.calls += 1
        if self.calls % 20 == 0:
            await asyncio.sleep(0.05)
        answer = self.get_signal(symbol, when)
        return await answer if isinstance(answer, Awaitable) else answer


@pytest.fixture
def paced(qloop: qasync.QEventLoop) -> None:
    """Register ``paced-sma-cross``: sma-cross-market with pauses."""
    qloop.run_until_complete(ws.prepare_backtest(ONE_WEEK))
    builtin = next(schema for schema in ws.list_strategies() if schema.strategy_name == "sma-cross-market")
    ws.add_strategy(
        builtin.model_copy(update={"strategy_name": "paced-sma-cross", "get_signal": Paced(builtin.get_signal)})
    )


@pytest.fixture
def tab(qtbot: QtBot) -> RunTab:
    """A run tab shown at a window's size, so that its chart has a view to follow the trades with."""
    tab = RunTab(DARK_PALETTE)
    qtbot.addWidget(tab)
    tab.resize(1200, 800)
    tab.show()
    return tab


def exits_at(*bars: int) -> SignalMarks:
    """Closed long positions, each entered ten bars before its exit at ``bars``."""
    count = len(bars)
    exits = np.array([T0 + bar * MIN for bar in bars], dtype=np.int64)
    return SignalMarks(
        position_ids=np.array([f"p{bar}" for bar in bars]),
        entry_time=exits - 10 * MIN,
        entry_price=np.full(count, 100.0),
        is_long=np.ones(count, dtype=bool),
        take_profit=np.full(count, 101.0),
        stop_loss=np.full(count, 99.0),
        exit_time=exits.astype(np.float64),
        exit_price=np.full(count, 101.0),
        pnl_percentage=np.full(count, 0.8),
        close_reason=np.full(count, "take_profit"),
    )


def view_of(chart: CandleChart) -> list[float]:
    return [round(value, 3) for value in chart.price_plot.getViewBox().viewRange()[0]]


def following_chart(qtbot: QtBot) -> CandleChart:
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    chart.show()
    chart.set_candles(flat_candles(1000, T0))
    assert view_of(chart) == [760.0, 1002.0]  # the period's end, 240 bars and the right margin
    chart.set_following(True)
    return chart


def test_a_following_chart_moves_only_when_the_newest_trade_nears_an_edge_keeping_its_zoom(qtbot: QtBot) -> None:
    chart = following_chart(qtbot)
    chart.set_marks(exits_at(300, 500))
    assert view_of(chart) == [318.5, 560.5]  # the newest exit (bar 500) at three quarters of the 242 bars
    chart.set_marks(exits_at(300, 500, 540))
    assert view_of(chart) == [318.5, 560.5]  # bar 540 is inside the view's margin: no move, no repaint
    chart.set_marks(exits_at(300, 500, 540, 550))
    assert view_of(chart) == [368.5, 610.5]
    assert chart.is_following()


def test_a_key_stops_following(qtbot: QtBot) -> None:
    chart = following_chart(qtbot)
    chart.set_marks(exits_at(500))
    qtbot.keyClick(chart, Qt.Key.Key_Left)
    assert view_of(chart) == [294.3, 536.3]
    chart.set_marks(exits_at(500, 900))
    assert view_of(chart) == [294.3, 536.3]
    assert not chart.is_following()


def test_the_mouse_wheel_stops_following(qtbot: QtBot, qapp: QApplication) -> None:
    chart = following_chart(qtbot)
    chart.set_marks(exits_at(500))
    viewport = chart.graphics.viewport()
    centre = QPointF(viewport.rect().center())
    wheel = QWheelEvent(
        centre,
        QPointF(viewport.mapToGlobal(centre.toPoint())),
        QPoint(),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    qapp.sendEvent(viewport, wheel)
    zoomed = view_of(chart)
    assert zoomed != [318.5, 560.5]
    chart.set_marks(exits_at(500, 900))
    assert view_of(chart) == zoomed
    assert not chart.is_following()


def test_clicking_a_trade_stops_following(qtbot: QtBot) -> None:
    chart = following_chart(qtbot)
    chart.center_on(T0 + 200 * MIN)
    chart.set_marks(exits_at(900))
    assert view_of(chart) == [79.0, 321.0]


class RunWatch:
    """Records, during a run tab's run, what the status line says whenever the table shows new trades, and where
    the newest closed trade is against the chart's view after each marks update."""

    def __init__(self, tab: RunTab, on_marks: Any = None) -> None:
        self.tab = tab
        self.statuses: list[tuple[str, int]] = []
        self.views: list[tuple[int, int, int]] = []
        self._on_marks = on_marks
        tab.trades.model.rowsInserted.connect(self._rows_shown)  # connected after the tab's own handler
        chart = tab.chart
        set_marks = chart.set_marks

        def watched(marks: SignalMarks) -> None:
            set_marks(marks)
            if tab.state == "Running" and marks.is_closed.any():
                first, last = chart.visible_time_range()
                self.views.append((int(np.nanmax(marks.exit_time)), first, last))
                if self._on_marks is not None:
                    self._on_marks(len(self.views))

        chart.set_marks = watched  # type: ignore[method-assign]

    def _rows_shown(self) -> None:
        if self.tab.state == "Running":
            self.statuses.append((self.tab.status.text(), self.tab.trades.model.rowCount()))


@pytest.mark.usefixtures("paced")
def test_during_a_run_the_status_counts_the_trades_the_table_shows(qtbot: QtBot, qloop: qasync.QEventLoop) -> None:
    tab = RunTab(DARK_PALETTE)
    qtbot.addWidget(tab)
    watch = RunWatch(tab)
    qloop.run_until_complete(tab.run(PACED_WEEK))
    assert len(watch.statuses) >= 2  # the table grew several times during the run
    assert [text for text, _ in watch.statuses] == [f"Running · {rows} closed signals" for _, rows in watch.statuses]
    assert tab.status.text() == f"Finished · {tab.trades.model.rowCount()} closed signals"


@pytest.mark.usefixtures("paced")
def test_during_a_run_the_chart_follows_the_newest_trade_then_shows_the_whole_period(
    tab: RunTab, qloop: qasync.QEventLoop
) -> None:
    watch = RunWatch(tab)
    qloop.run_until_complete(tab.run(PACED_WEEK))
    assert len(watch.views) >= 2
    assert [first <= newest <= last for newest, first, last in watch.views] == [True] * len(watch.views)
    assert len({(first, last) for _, first, last in watch.views}) >= 2  # the view moved with the trades
    first, last = tab.chart.visible_time_range()
    assert first <= int(PACED_WEEK.start.timestamp() * 1000) and last >= int(PACED_WEEK.end.timestamp() * 1000)
    assert not tab.chart.is_following()


@pytest.mark.usefixtures("paced")
def test_once_the_trader_moves_the_view_during_a_run_it_stays_where_they_put_it(
    tab: RunTab, qtbot: QtBot, qloop: qasync.QEventLoop
) -> None:
    chosen: list[tuple[int, int]] = []

    def move_once(updates: int) -> None:
        if updates == 1:
            qtbot.keyClick(tab.chart, Qt.Key.Key_Left)
            chosen.append(tab.chart.visible_time_range())

    watch = RunWatch(tab, move_once)
    qloop.run_until_complete(tab.run(PACED_WEEK))
    assert len(watch.views) >= 2
    assert {(first, last) for _, first, last in watch.views[1:]} == set(chosen)
    assert tab.chart.visible_time_range() == chosen[0]  # the end of the run keeps it too (no overview)
