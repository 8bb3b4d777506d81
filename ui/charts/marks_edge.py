"""Edge markers: a price level above or below the view is written at the top or bottom edge of the price plot.

A take profit 40 % away is not fitted into the price axis (it would flatten the candles), and a trader zoomed in or
scrolled back sees neither level; the marker says where the level is and at what price, in the level's colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyqtgraph as pg
from PySide6.QtGui import QColor

#: How far right (a fraction of the view from its left edge) a marker's right end sits, unless told otherwise.
EDGE_MARKER_POSITION = 0.995
#: Markers on one edge are stacked this many of their heights apart (anchors are fractions of the text's size).
STACK_STEP = 1.1

Edge = Literal["top", "bottom"]


@dataclass(frozen=True)
class EdgeLevel:
    """A price level that may lie off the view: ``name`` identifies it, ``label`` and ``price_text`` are written
    ("TP", "50000.00"), ``y`` is its height on the price axis (``CandleChart.price_y``), ``colour`` its line's."""

    name: str
    label: str
    price_text: str
    y: float
    colour: str


class EdgeMarkers:
    """Writes each level outside the plot's price range at the edge it lies beyond, ▲ at the top, ▼ at the bottom.

    The markers follow the view: they are placed again whenever its range changes, and hidden for levels in view.
    """

    def __init__(self, plot: pg.PlotItem, background: str, position: float = EDGE_MARKER_POSITION) -> None:
        self._box: pg.ViewBox = plot.getViewBox()
        self._plot = plot
        self._position = position
        self._background = background
        self._levels: tuple[EdgeLevel, ...] = ()
        self._markers: dict[str, pg.TextItem] = {}
        self._edges: dict[str, Edge] = {}
        self._box.sigRangeChanged.connect(self._place)

    def set_levels(self, levels: tuple[EdgeLevel, ...]) -> None:
        """Mark these levels (none: no marker) whenever they lie outside the view."""
        self._levels = levels
        for name in set(self._markers) - {level.name for level in levels}:
            self._markers[name].setVisible(False)
        self._place()

    def set_background(self, background: str) -> None:
        """Fill the markers with the chart's background colour (a theme change)."""
        self._background = background
        for marker in self._markers.values():
            marker.fill = pg.mkBrush(background)
            marker.update()

    def shown(self) -> dict[str, tuple[Edge, str]]:
        """Return the markers shown now, by level name: the edge and the text."""
        return {
            name: (self._edges[name], marker.toPlainText())
            for name, marker in self._markers.items()
            if marker.isVisible()
        }

    def marker(self, name: str) -> pg.TextItem | None:
        """Return the marker item of level ``name`` (shown or not), None if it was never needed."""
        return self._markers.get(name)

    def _place(self, *_args: object) -> None:
        (first, last), (bottom, top) = self._box.viewRange()
        x = first + (last - first) * self._position
        stacked: dict[Edge, int] = {"top": 0, "bottom": 0}
        for level in self._levels:
            edge: Edge | None = "top" if level.y > top else "bottom" if level.y < bottom else None
            marker = self._markers.get(level.name)
            if edge is None:
                if marker is not None:
                    marker.setVisible(False)
                continue
            if marker is None:
                marker = self._markers[level.name] = pg.TextItem()
                marker.setZValue(8)
                self._plot.addItem(marker, ignoreBounds=True)
            arrow = "▲" if edge == "top" else "▼"
            marker.setText(f"{arrow} {level.label} {level.price_text}", QColor(level.colour))
            marker.border = pg.mkPen(level.colour)
            marker.fill = pg.mkBrush(self._background)
            # Hanging from the top edge, standing on the bottom one; a second marker on an edge goes next to it.
            step = STACK_STEP * stacked[edge]
            marker.setAnchor((1.0, -step if edge == "top" else 1.0 + step))
            stacked[edge] += 1
            marker.setPos(x, top if edge == "top" else bottom)
            self._edges[level.name] = edge
            marker.setVisible(True)
