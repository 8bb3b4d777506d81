"""The desk's orders and fills on the live chart, and the whole window with the desk, in the dark and light theme.

A real OrderDesk on a real PaperVenue (tests/desk_market.py) bought 0.01 BTC at 42029.75 with a stop loss at
41000 and a take profit at 45000 resting; the live chart shows BTC/USDT's closed candles.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from desk_market import FIRST_CLOSE, SYMBOL, Market, paper_desk
from loop_helpers import wait_until
from pixels import painted
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QGraphicsView
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import DARK_PALETTE, LIGHT_PALETTE
from ui.desk.ticket import TicketValues
from ui.main_window import MainWindow

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))


def save(widget: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert widget.grab().save(str(path))
    return path


@pytest.fixture
def market() -> Market:
    return Market()


@pytest.fixture
def desk(market: Market, tmp_path: Path, qloop: qasync.QEventLoop) -> Iterator[ws.OrderDesk]:
    """A paper desk (listed before ``window``: closed after the window's teardown)."""
    order_desk, _venue = paper_desk(market, tmp_path / "desk.sqlite3")
    yield order_desk
    qloop.run_until_complete(order_desk.aclose())


def trade(window: MainWindow, desk: ws.OrderDesk, market: Market, qloop: qasync.QEventLoop) -> None:
    """Show the desk and the chart of BTC/USDT; buy 0.01 BTC with a stop loss and a take profit."""
    assert window.attach_desk(desk) is None
    wait_until(qloop, lambda: window.desk.opened)
    chart = window.live_panel.chart
    # The chart of a run of a registered strategy on the symbol, as the Live tab follows one.
    chart.show_run((SYMBOL, "sma-cross-market"))
    chart.set_candles(market.closed())
    window.desk.chart_orders.redraw()
    values = TicketValues(SYMBOL, "buy", "market", "amount", "0.01", take_profit="42100", stop_loss="41990")
    sent = qloop.run_until_complete(window.desk.submit(window.desk.open_ticket(values).requests()))
    assert [record.status for record in sent] == ["closed", "open", "open"]
    assert window.desk.ticket is not None
    window.desk.ticket.close()
    window.desk.refresh_soon()
    wait_until(qloop, lambda: window.desk.fills_model.rowCount() == 1 and window.desk.balances_model.rowCount() == 2)


def test_resting_orders_are_lines_and_fills_are_markers_on_the_chart(
    desk: ws.OrderDesk, window: MainWindow, market: Market, qloop: qasync.QEventLoop
) -> None:
    trade(window, desk, market, qloop)
    drawn = window.desk.chart_orders
    assert drawn.shown_labels() == ["SELL TAKE PROFIT 0.01 @ 42100.00", "SELL STOP LOSS 0.01 @ 41990.00"]
    buys, sells = drawn.fill_points()
    # The fill came 30 s into minute 60: after the newest closed candle (59), drawn on it.
    assert buys == [(59.0, FIRST_CLOSE)] and sells == []

    # The take profit is reached: candle 180's high is 42100 (42000 + 180 / 2 + 10).
    market.at_minute(200)
    window.desk.refresh_soon()
    wait_until(qloop, lambda: window.desk.fills_model.rowCount() == 2)
    wait_until(qloop, lambda: not window.desk.orders_model.open_orders())
    window.live_panel.chart.set_candles(market.closed())
    assert drawn.shown_labels() == []
    buys, sells = drawn.fill_points()
    # With candle 60 closed, the buy 30 s into minute 60 is drawn on it; the paper venue dates the take profit's fill
    # at candle 180's close, the open of candle 181, where it is drawn.
    assert buys == [(60.0, FIRST_CLOSE)] and sells == [(181.0, 42100.0)]


def test_double_clicking_the_chart_fills_a_limit_order_at_that_price(
    desk: ws.OrderDesk, window: MainWindow, market: Market, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    trade(window, desk, market, qloop)
    plot = window.live_panel.chart.chart.price_plot
    box = plot.getViewBox()
    scene_point = box.mapViewToScene(QPointF(30, 42010.0))
    view = window.live_panel.chart.chart.graphics
    double_click(view, view.mapFromScene(scene_point))
    ticket = window.desk.ticket
    assert ticket is not None and ticket.isVisible()
    values = ticket.values()
    assert (values.symbol, values.side, values.type, values.size) == (SYMBOL, "buy", "limit", "0.01")
    assert abs(float(values.price) - 42010.0) < 0.5  # the price under the mouse, to the pixel
    (request,) = ticket.requests()
    assert (request.type, request.price, request.purpose) == ("limit", float(values.price), "manual")


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_window_with_the_desk_in_both_themes(
    desk: ws.OrderDesk, window: MainWindow, market: Market, qloop: qasync.QEventLoop, theme: str
) -> None:
    trade(window, desk, market, qloop)
    window.apply_theme("light" if theme == "light" else "dark")
    palette = LIGHT_PALETTE if theme == "light" else DARK_PALETTE
    window.docks["orders"].raise_()
    window.docks["account"].raise_()
    qloop.run_until_complete(_settle())
    image = save(window, f"desk_window_{theme}.png")
    assert image.exists()
    chart_image = window.live_panel.chart.grab().toImage()
    save(window.live_panel.chart, f"desk_chart_{theme}.png")
    # The take profit's line and the stop loss's line are drawn in their colours.
    assert painted(chart_image, palette.take_profit) > 50
    assert painted(chart_image, palette.stop_loss) > 50
    save(window.desk.orders, f"desk_orders_{theme}.png")
    save(window.desk.account, f"desk_account_{theme}.png")
    window.docks["positions"].raise_()
    qloop.run_until_complete(_settle())
    save(window.desk.positions, f"desk_positions_{theme}.png")
    window.docks["fills"].raise_()
    qloop.run_until_complete(_settle())
    save(window.desk.fills, f"desk_fills_{theme}.png")
    ticket = window.desk.open_ticket(
        TicketValues(SYMBOL, "buy", "market", "amount", "0.01", take_profit="45000", stop_loss="41000")
    )
    save(ticket, f"desk_ticket_{theme}.png")
    ticket.fill(TicketValues(SYMBOL, "buy", "limit", "amount", "0.01", price="abc"))
    save(ticket, f"desk_ticket_error_{theme}.png")


def double_click(view: QGraphicsView, point: QPoint) -> None:
    """Double-click ``point`` of ``view``'s viewport as a mouse does: press, release, double-click, release.

    QTest's double-click sends a second press before the double-click, which pyqtgraph's scene reports as a single
    click.
    """
    position = QPointF(point)
    for kind in (
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseButtonRelease,
    ):
        held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
        event = QMouseEvent(
            kind,
            position,
            QPointF(view.viewport().mapToGlobal(position)),
            Qt.MouseButton.LeftButton,
            held,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(view.viewport(), event)


async def _settle() -> None:
    import asyncio

    await asyncio.sleep(0.05)
