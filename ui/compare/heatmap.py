"""A painted heatmap of a sweep's metric over two parameters, with a colour scale and the parameter values on the axes.

Cells run from dark violet (lowest value) to yellow (highest) on the viridis scale, which reads the same to
colour-blind eyes and in either theme; a cell without a value (a set not run, or a failed job) is grey. The best
cell is outlined. Clicking a cell emits its position.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QHelpEvent,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ui.compare.common import EMPTY, is_dark_theme, text_on
from ui.themes import mix

#: Viridis at five stops, lowest first.
SCALE_STOPS: tuple[str, ...] = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
MARGIN = 8.0
BAR_WIDTH = 14.0
AXIS_GAP = 6.0
#: Painted above the cells, right-aligned, when there is room.
CLICK_HINT = "Click a cell to open its backtest"
#: A cell lower than this shows its colour only; the tooltip tells its value.
MIN_TEXT_HEIGHT = 15.0

_STOPS = [QColor(stop) for stop in SCALE_STOPS]


def scale_colour(share: float) -> QColor:
    """Return the colour ``share`` (0 lowest, 1 highest) of the way along the scale."""
    share = min(max(share, 0.0), 1.0) * (len(_STOPS) - 1)
    lower = min(int(share), len(_STOPS) - 2)
    return mix(_STOPS[lower], _STOPS[lower + 1], share - lower)


@dataclass(frozen=True, slots=True)
class HeatmapCell:
    """One cell: the metric value (None: no value) and a note for its tooltip (the job's error)."""

    value: float | None
    note: str = ""


@dataclass(frozen=True)
class HeatmapData:
    """What the heatmap shows: the axes' titles and value labels, the cells by ``(x, y)`` position, the best one.

    ``value_texts`` are the cells' texts by position; ``scale_texts`` label the lowest and highest value.
    """

    x_title: str
    x_labels: list[str]
    y_title: str
    y_labels: list[str]
    cells: dict[tuple[int, int], HeatmapCell]
    value_title: str
    value_texts: dict[tuple[int, int], str]
    scale_texts: tuple[str, str]
    best: tuple[int, int] | None


class MetricHeatmap(QWidget):
    """A sweep's metric over two parameters (the other parameters fixed elsewhere).

    Signals
    -------
    cell_clicked(int, int)
        The ``x`` and ``y`` positions (indexes into the axes' values) of the cell clicked.
    """

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: HeatmapData | None = None
        self.message = "Run a sweep to see its metric over two parameters."
        self.setMouseTracking(True)
        self.setMinimumSize(320, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, data: HeatmapData | None, message: str = "") -> None:
        """Show ``data``; with None, show ``message`` instead."""
        self.data = data
        if message:
            self.message = message
        self.update()

    def value_range(self) -> tuple[float, float] | None:
        """Return the lowest and highest value shown, or None when no cell has one."""
        if self.data is None:
            return None
        values = [cell.value for cell in self.data.cells.values() if cell.value is not None]
        return (min(values), max(values)) if values else None

    # -- geometry ---------------------------------------------------------------------------------------------

    def _small_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.9))
        return font

    def plot_rect(self) -> QRectF:
        """Return the area of the cells (inside the axes, left of the colour scale)."""
        data = self.data
        metrics = QFontMetricsF(self._small_font())
        line = metrics.height()
        y_labels = data.y_labels if data is not None else []
        label_width = max((metrics.horizontalAdvance(text) for text in y_labels), default=0.0)
        scale_labels = max(metrics.horizontalAdvance(text) for text in ("-000.000", "+000.00%"))
        left = MARGIN + (line + AXIS_GAP if data is not None and data.y_title else 0.0) + label_width + AXIS_GAP
        right = self.width() - MARGIN - scale_labels - AXIS_GAP - BAR_WIDTH - 2 * AXIS_GAP
        top = MARGIN + line + AXIS_GAP
        bottom = self.height() - MARGIN - 2 * line - 2 * AXIS_GAP
        return QRectF(QPointF(left, top), QPointF(max(right, left + 1), max(bottom, top + 1)))

    def cell_rect(self, x: int, y: int) -> QRectF:
        """Return the rectangle of cell ``(x, y)``; ``y`` counts from the bottom row."""
        assert self.data is not None
        plot = self.plot_rect()
        width = plot.width() / len(self.data.x_labels)
        height = plot.height() / len(self.data.y_labels)
        return QRectF(plot.left() + x * width, plot.bottom() - (y + 1) * height, width, height)

    def cell_at(self, point: QPointF) -> tuple[int, int] | None:
        """Return the ``(x, y)`` of the cell under ``point``, or None outside the cells."""
        if self.data is None:
            return None
        plot = self.plot_rect()
        if not plot.contains(point):
            return None
        x = int((point.x() - plot.left()) / plot.width() * len(self.data.x_labels))
        y = int((plot.bottom() - point.y()) / plot.height() * len(self.data.y_labels))
        return (min(x, len(self.data.x_labels) - 1), min(y, len(self.data.y_labels) - 1))

    # -- painting ---------------------------------------------------------------------------------------------

    def _empty_colour(self) -> QColor:
        return QColor("#3a3f48") if is_dark_theme() else QColor("#d3d7dd")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text_colour = palette.text().color()
        muted = mix(text_colour, palette.base().color(), 0.45)
        data = self.data
        if data is None or not data.x_labels or not data.y_labels:
            painter.setPen(muted)
            painter.drawText(
                QRectF(self.rect()).adjusted(20, 0, -20, 0),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.message,
            )
            return
        small = self._small_font()
        metrics = QFontMetricsF(small)
        painter.setFont(small)
        span = self.value_range()
        plot = self.plot_rect()
        for x in range(len(data.x_labels)):
            for y in range(len(data.y_labels)):
                self._paint_cell(painter, data, span, x, y, metrics)
        if data.best is not None:
            # The best cell is the scale's brightest, so the outline takes the colour its text reads in.
            painter.setPen(QPen(text_on(scale_colour(1.0)), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.cell_rect(*data.best).adjusted(1, 1, -1, -1))
        self._paint_axes(painter, data, plot, metrics, text_colour, muted)
        self._paint_scale(painter, data, plot, span, metrics, text_colour)

    def _paint_cell(
        self,
        painter: QPainter,
        data: HeatmapData,
        span: tuple[float, float] | None,
        x: int,
        y: int,
        metrics: QFontMetricsF,
    ) -> None:
        box = self.cell_rect(x, y)
        cell = data.cells.get((x, y))
        if cell is None or cell.value is None or span is None:
            fill = self._empty_colour()
        else:
            low, high = span
            fill = scale_colour((cell.value - low) / (high - low) if high > low else 1.0)
        painter.fillRect(box.adjusted(0.5, 0.5, -0.5, -0.5), fill)
        if box.height() < MIN_TEXT_HEIGHT:
            return
        text = data.value_texts.get((x, y), EMPTY)
        # A cut number would read as another number: a cell too narrow for its text shows its colour only.
        if metrics.horizontalAdvance(text) + 4 > box.width():
            return
        painter.setPen(text_on(fill))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_axes(
        self,
        painter: QPainter,
        data: HeatmapData,
        plot: QRectF,
        metrics: QFontMetricsF,
        text_colour: QColor,
        muted: QColor,
    ) -> None:
        line = metrics.height()
        painter.setPen(text_colour)
        cell_width = plot.width() / len(data.x_labels)
        widest = max(metrics.horizontalAdvance(text) for text in data.x_labels) + AXIS_GAP
        every = max(1, int(widest // cell_width) + (1 if widest % cell_width else 0))
        for x, text in enumerate(data.x_labels):
            if x % every:
                continue
            box = QRectF(plot.left() + x * cell_width, plot.bottom() + AXIS_GAP / 2, cell_width, line)
            painter.drawText(box.adjusted(-widest, 0, widest, 0), Qt.AlignmentFlag.AlignHCenter, text)
        cell_height = plot.height() / len(data.y_labels)
        every = max(1, int(line // cell_height) + (1 if line % cell_height else 0))
        for y, text in enumerate(data.y_labels):
            if y % every:
                continue
            box = QRectF(MARGIN, plot.bottom() - (y + 1) * cell_height, plot.left() - MARGIN - AXIS_GAP, cell_height)
            painter.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        bold = QFont(painter.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(muted)
        x_title = QRectF(plot.left(), plot.bottom() + line + AXIS_GAP, plot.width(), line + AXIS_GAP)
        painter.drawText(x_title, Qt.AlignmentFlag.AlignCenter, data.x_title)
        if data.y_title:
            painter.save()
            painter.translate(MARGIN + line / 2, plot.center().y())
            painter.rotate(-90)
            painter.drawText(
                QRectF(-plot.height() / 2, -line / 2, plot.height(), line), Qt.AlignmentFlag.AlignCenter, data.y_title
            )
            painter.restore()
        painter.setPen(text_colour)
        title_box = QRectF(plot.left(), MARGIN, plot.width(), line)
        painter.drawText(title_box, Qt.AlignmentFlag.AlignLeft, data.value_title)
        painter.setFont(self._small_font())
        painter.setPen(muted)
        if metrics.horizontalAdvance(data.value_title + CLICK_HINT) + 4 * AXIS_GAP < plot.width():
            painter.drawText(title_box, Qt.AlignmentFlag.AlignRight, CLICK_HINT)

    def _paint_scale(
        self,
        painter: QPainter,
        data: HeatmapData,
        plot: QRectF,
        span: tuple[float, float] | None,
        metrics: QFontMetricsF,
        text_colour: QColor,
    ) -> None:
        bar = QRectF(plot.right() + 2 * AXIS_GAP, plot.top(), BAR_WIDTH, plot.height())
        gradient = QLinearGradient(bar.bottomLeft(), bar.topLeft())
        for position, stop in enumerate(_STOPS):
            gradient.setColorAt(position / (len(_STOPS) - 1), stop)
        painter.fillRect(bar, gradient if span is not None else self._empty_colour())
        if span is None:
            return
        painter.setFont(self._small_font())
        painter.setPen(text_colour)
        low, high = data.scale_texts
        left = bar.right() + AXIS_GAP
        width = self.width() - left
        line = metrics.height()
        painter.drawText(QRectF(left, bar.top(), width, line), Qt.AlignmentFlag.AlignLeft, high)
        painter.drawText(QRectF(left, bar.bottom() - line, width, line), Qt.AlignmentFlag.AlignLeft, low)

    # -- interaction ------------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        position = self.cell_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and position is not None:
            self.cell_clicked.emit(*position)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        cursor = Qt.CursorShape.PointingHandCursor if self.cell_at(event.position()) else Qt.CursorShape.ArrowCursor
        self.setCursor(cursor)
        super().mouseMoveEvent(event)

    def tooltip_at(self, point: QPointF) -> str:
        """Return the tooltip of the cell under ``point`` ("" outside the cells)."""
        position = self.cell_at(point)
        if position is None or self.data is None:
            return ""
        data = self.data
        x, y = position
        where = f"{data.x_title} = {data.x_labels[x]}"
        if data.y_title:
            where += f", {data.y_title} = {data.y_labels[y]}"
        cell = data.cells.get(position)
        value = data.value_texts.get(position, EMPTY)
        note = f"\n{cell.note}" if cell is not None and cell.note else ""
        return f"{where}\n{data.value_title}: {value}{note}\nClick to open this backtest."

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(QPointF(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)
