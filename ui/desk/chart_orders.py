"""The desk's orders on the live chart: a line per order resting on the venue, a square per fill, on its symbol.

Resting orders are dash-dotted lines (the signal's own levels are dashed) in the colour of their kind: limit orders
in the limit colour, stop losses red, take profits green, each labelled with side, kind, amount and price. Fills are
squares at their candle and price, buys in the chart's blue and sells in its orange. Double-clicking the price pane
reports the price under the mouse (the order ticket takes it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt, Signal

import workstation as ws
from ui.charts.candle_chart import format_price
from ui.charts.candle_item import DARK_PALETTE, ChartPalette, cosmetic_pen
from ui.desk.tables import format_amount
from ui.live.chart import FITTED_LEVEL_DISTANCE, LevelBounds, LiveChart

#: Where along its line an order's label starts: at the left edge, clear of the labels of the signal's levels (right
#: ends at 0.7 and 0.86) and of the price (0.995); a protective order rests at its signal's level, on the same line.
ORDER_LABEL_POSITION = 0.01
FILL_MARKER_SIZE = 9
#: Above the candles (0-5) and the signal's levels (6), under the price line (7).
ORDER_Z = 6.5


def order_price(order: ws.OrderRecord) -> float | None:
    """Return the price an order rests at: its trigger for a stop loss or take profit, else its limit price."""
    return order.trigger_price if order.type in ("stop_loss", "take_profit") else order.price


def order_label(order: ws.OrderRecord) -> str:
    """Write an order's line label: ``BUY LIMIT 0.01 @ 42000.00``."""
    price = order_price(order)
    where = f" @ {format_price(price)}" if price is not None else ""
    return f"{order.side.upper()} {order.type.replace('_', ' ').upper()} {format_amount(order.remaining)}{where}"


class ChartOrders(QObject):
    """Draws the desk's resting orders and fills of the chart's symbol on a :class:`LiveChart`.

    Signals
    -------
    price_double_clicked(float)
        The trader double-clicked the price pane at this price.
    """

    price_double_clicked = Signal(float)

    def __init__(self, chart: LiveChart, palette: ChartPalette = DARK_PALETTE) -> None:
        super().__init__(chart)
        self.chart = chart
        self._palette = palette
        self._orders: list[ws.OrderRecord] = []
        self._fills: list[ws.Fill] = []
        self.lines: list[pg.InfiniteLine] = []
        plot = chart.chart.price_plot
        self.buys = pg.ScatterPlotItem(symbol="s", size=FILL_MARKER_SIZE, pxMode=True)
        self.sells = pg.ScatterPlotItem(symbol="s", size=FILL_MARKER_SIZE, pxMode=True)
        for item in (self.buys, self.sells):
            item.setZValue(ORDER_Z)
            plot.addItem(item, ignoreBounds=True)
        # The price axis fits the orders resting near the market with the candles, as it fits the signal's levels.
        self.bounds = LevelBounds()
        plot.addItem(self.bounds)
        chart.chart.log_scale_changed.connect(lambda _log: self.redraw())
        # New candles and another timeframe move the view: the fills' bars and the market the bounds follow change.
        plot.getViewBox().sigXRangeChanged.connect(lambda *_args: self.redraw())
        chart.chart.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.set_palette(palette)

    def symbol(self) -> str | None:
        """Return the symbol of the run the chart follows (None: no run)."""
        return self.chart.key[0] if self.chart.key is not None else None

    def set_orders(self, orders: Sequence[ws.OrderRecord]) -> None:
        """Draw the open ones of ``orders`` that are on the chart's symbol."""
        self._orders = list(orders)
        self._place_orders()

    def set_fills(self, fills: Sequence[ws.Fill]) -> None:
        """Mark the ones of ``fills`` that are on the chart's symbol."""
        self._fills = list(fills)
        self._place_fills()

    def redraw(self) -> None:
        """Place everything again (the chart now follows another run, or changed its scale)."""
        self._place_orders()
        self._place_fills()

    def set_palette(self, palette: ChartPalette) -> None:
        """Colour the lines and markers for ``palette`` (a theme change)."""
        self._palette = palette
        outline = pg.mkPen(palette.background, width=1)
        self.buys.setBrush(pg.mkBrush(palette.win))
        self.buys.setPen(outline)
        self.sells.setBrush(pg.mkBrush(palette.loss))
        self.sells.setPen(outline)
        self._place_orders()

    def shown_labels(self) -> list[str]:
        """Return the labels of the order lines drawn now, the highest price first."""
        return [line.label.format for line in self.lines if line.isVisible()]

    def fill_points(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """Return where the buy and the sell markers are drawn, as (bar, height) pairs."""
        buys, sells = self.buys.getData(), self.sells.getData()
        return list(zip(buys[0].tolist(), buys[1].tolist(), strict=True)), list(
            zip(sells[0].tolist(), sells[1].tolist(), strict=True)
        )

    # -- internals -------------------------------------------------------------------------------------------

    def _colour(self, order: ws.OrderRecord) -> str:
        if order.type == "stop_loss":
            return self._palette.stop_loss
        if order.type == "take_profit":
            return self._palette.take_profit
        return self._palette.limit

    def _place_orders(self) -> None:
        symbol = self.symbol()
        resting = sorted(
            (
                order
                for order in self._orders
                if order.is_open and order.symbol == symbol and order_price(order) is not None
            ),
            key=lambda order: -(order_price(order) or 0.0),
        )
        plot = self.chart.chart.price_plot
        while len(self.lines) < len(resting):
            line = pg.InfiniteLine(
                angle=0,
                movable=False,
                label="",
                labelOpts={"position": ORDER_LABEL_POSITION, "anchors": [(0, 1), (0, 1)]},
            )
            line.setZValue(ORDER_Z)
            plot.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        candles = self.chart.chart.candles()
        market = float(candles["close"][-1]) if len(candles) else None
        fitted = [
            self.chart.chart.price_y(price)
            for order in resting
            if (price := order_price(order)) is not None
            and market is not None
            and abs(price - market) <= FITTED_LEVEL_DISTANCE * market
        ]
        self.bounds.set_levels(fitted)
        for index, line in enumerate(self.lines):
            if index >= len(resting):
                line.setVisible(False)
                continue
            order = resting[index]
            price = order_price(order)
            assert price is not None  # filtered above
            colour = self._colour(order)
            line.setPen(cosmetic_pen(colour, 1.2, Qt.PenStyle.DashDotLine))
            line.label.setColor(colour)
            line.label.fill = pg.mkBrush(self._palette.background)
            line.label.setFormat(order_label(order))
            # Written on the market's side of the line: an order at the edge of the view keeps its label in view.
            towards_market = 0.0 if market is not None and price > market else 1.0
            line.label.anchors = [(0.0, towards_market), (0.0, towards_market)]
            line.label.updatePosition()
            line.setPos(self.chart.chart.price_y(price))
            line.setVisible(True)

    def _place_fills(self) -> None:
        symbol = self.symbol()
        chart = self.chart.chart
        shown = [fill for fill in self._fills if fill.symbol == symbol] if len(chart.candles()) else []
        for item, side in ((self.buys, "buy"), (self.sells, "sell")):
            fills = [fill for fill in shown if fill.side == side]
            x = np.array([chart.bar_of_time(fill.timestamp) for fill in fills], dtype=np.float64)
            y = np.array([chart.price_y(fill.price) for fill in fills], dtype=np.float64)
            item.setData(x=x, y=y)

    def _clicked(self, event: object) -> None:
        double = getattr(event, "double", None)
        scene_pos = getattr(event, "scenePos", None)
        if double is None or scene_pos is None or not double() or self.chart.key is None:
            return
        plot = self.chart.chart.price_plot
        position: QPointF = scene_pos()
        if not plot.sceneBoundingRect().contains(position):
            return
        height = plot.getViewBox().mapSceneToView(position).y()
        price = 10**height if self.chart.chart.is_log_scale() else height
        if math.isfinite(price) and price > 0:
            self.price_double_clicked.emit(float(price))
