"""Partial levels: how far each live position has come towards its take profit or its stop loss.

One line per run, for its open position: ten loss cells (−100 … −10 % of the way to the stop loss) left of the
entry and ten profit cells (10 … 100 % of the way to the take profit) right of it. A cell lights when the engine
reports the level reached (``partial_profit`` / ``partial_loss`` of that signal, SPEC §8); a bar under the cells
follows the position's progress at each tick. When the position closes, its line turns grey and stays until the
run opens its next position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QScrollArea, QSizePolicy, QWidget

import workstation as ws
from ui.charts.candle_chart import format_price
from ui.live.runs import LevelReached, RunKey, key_of
from ui.live.tones import DARK_TONES, LiveTones
from ui.widgets.formatting import close_outcome, signed

#: The levels of each branch (SPEC §8).
LEVELS: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)

ROW_HEIGHT = 46
HEADER_HEIGHT = 22
LABEL_WIDTH = 210
CELL_GAP = 3
CENTRE_GAP = 14
MIN_CELL_WIDTH = 26
MAX_CELL_WIDTH = 46
MARGIN = 8
#: Narrower than this the cells would not hold their numbers: the scroll area scrolls instead.
MINIMUM_WIDTH = 2 * MARGIN + LABEL_WIDTH + 20 * (MIN_CELL_WIDTH + CELL_GAP) + CENTRE_GAP
EMPTY_TEXT = (
    "No open position. When one opens, its cells light up as the price moves 10 %, 20 % … 100 % of the way "
    "to the take profit (right) or the stop loss (left)."
)


@dataclass
class PositionLevels:
    """The levels one position has reached, and how it stands now."""

    key: RunKey
    signal: ws.SignalRow
    profit: list[int] = field(default_factory=list)
    loss: list[int] = field(default_factory=list)
    percent_tp: float = 0.0
    percent_sl: float = 0.0
    closed: bool = False
    outcome: str = ""

    def reach(self, branch: str, level: int) -> None:
        """Record ``level`` of ``branch`` as reached (once; the engine never reports a level twice)."""
        levels = self.profit if branch == "profit" else self.loss
        if level not in levels:
            levels.append(level)


class PartialLevelsPanel(QWidget):
    """Draws one level ladder per run; feed it the live feed's batches with :meth:`apply`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines: dict[RunKey, PositionLevels] = {}
        self._tones = DARK_TONES
        self._selected: RunKey | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumSize(MINIMUM_WIDTH, HEADER_HEIGHT + ROW_HEIGHT)
        self.setAutoFillBackground(True)

    # -- feeding ------------------------------------------------------------------------------------------

    def apply(self, events: Sequence[object]) -> None:
        """Take a batch of the live feed: positions opened and closed, levels reached, progress; repaint once."""
        changed = False
        for event in events:
            changed = self._take(event) or changed
        if changed:
            self.setMinimumHeight(HEADER_HEIGHT + ROW_HEIGHT * max(1, len(self._lines)))
            self.update()

    def set_tones(self, tones: LiveTones) -> None:
        """Paint with ``tones`` (a theme change)."""
        self._tones = tones
        self.update()

    def set_selected(self, key: RunKey | None) -> None:
        """Mark the line of the run the chart shows."""
        self._selected = key
        self.update()

    # -- reading ------------------------------------------------------------------------------------------

    def lines(self) -> list[PositionLevels]:
        """Return every line, in the order the runs first opened a position."""
        return list(self._lines.values())

    def line_of(self, signal_id: str) -> PositionLevels | None:
        """Return the line of the position ``signal_id``, while it is shown."""
        return next((line for line in self._lines.values() if line.signal.id == signal_id), None)

    def lit_levels(self, signal_id: str) -> tuple[list[int], list[int]]:
        """Return the profit and the loss levels lit for ``signal_id``, ascending (none when it is not shown)."""
        line = self.line_of(signal_id)
        if line is None:
            return [], []
        return sorted(line.profit), sorted(line.loss)

    def sizeHint(self) -> QSize:
        return QSize(
            LABEL_WIDTH + 20 * (MAX_CELL_WIDTH + CELL_GAP), HEADER_HEIGHT + ROW_HEIGHT * max(1, len(self._lines))
        )

    def minimumSizeHint(self) -> QSize:
        return QSize(MINIMUM_WIDTH, HEADER_HEIGHT + ROW_HEIGHT)

    # -- internals ----------------------------------------------------------------------------------------

    def _take(self, event: object) -> bool:
        if isinstance(event, LevelReached):
            if event.event.backtest:
                return False
            line = self._line_for(key_of(event), event.event.signal)
            line.reach(event.branch, event.event.level)
            return True
        if getattr(event, "backtest", True):
            return False
        if isinstance(event, ws.OpenedResult):
            self._lines[key_of(event)] = PositionLevels(key_of(event), event.signal)
            return True
        if isinstance(event, ws.ActiveResult) and event.signal.pending_at is not None:
            # A position restored after a restart reports as active without ever having been opened here.
            line = self._line_for(key_of(event), event.signal)
            line.signal = event.signal  # its entry is the effective one: averaging in moves it
            line.percent_tp, line.percent_sl = event.percent_tp, event.percent_sl
            return True
        if isinstance(event, ws.ClosedResult):
            current = self._lines.get(key_of(event))
            if current is None or current.signal.id != event.signal.id:
                return False
            current.closed = True
            current.percent_tp = current.percent_sl = 0.0
            current.outcome = f"{close_outcome(event.close_reason)} · {signed(event.pnl.pnl_percentage, 2)}%"
            return True
        return False

    def _line_for(self, key: RunKey, signal: ws.SignalRow) -> PositionLevels:
        line = self._lines.get(key)
        if line is None or line.signal.id != signal.id:
            line = self._lines[key] = PositionLevels(key, signal)
        return line

    def _cell_width(self) -> float:
        room = self.width() - LABEL_WIDTH - 2 * MARGIN - CENTRE_GAP
        return max(MIN_CELL_WIDTH, min(MAX_CELL_WIDTH, room / 20 - CELL_GAP))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text_colour = palette.text().color()
        tones = self._tones
        if not self._lines:
            painter.setPen(QColor(tones.muted))
            area = self.rect().adjusted(MARGIN * 2, 0, -MARGIN * 2, 0)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, EMPTY_TEXT)
            return
        cell = self._cell_width()
        left_start = MARGIN + LABEL_WIDTH
        centre = left_start + 10 * (cell + CELL_GAP) + CENTRE_GAP / 2
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        painter.setPen(QColor(tones.muted))
        header = QRectF(left_start, 0, 10 * (cell + CELL_GAP), HEADER_HEIGHT)
        painter.drawText(header, Qt.AlignmentFlag.AlignCenter, "← % of the way to SL")
        painter.drawText(
            header.translated(centre - left_start + CENTRE_GAP / 2, 0),
            Qt.AlignmentFlag.AlignCenter,
            "% of the way to TP →",
        )
        for index, line in enumerate(self._lines.values()):
            top = HEADER_HEIGHT + index * ROW_HEIGHT
            self._paint_line(painter, line, top, cell, centre, text_colour, small)

    def _paint_line(
        self,
        painter: QPainter,
        line: PositionLevels,
        top: float,
        cell: float,
        centre: float,
        text_colour: QColor,
        small: QFont,
    ) -> None:
        tones = self._tones
        if line.key == self._selected:
            highlight = QColor(self.palette().highlight().color())
            highlight.setAlpha(40)
            painter.fillRect(QRectF(0, top, self.width(), ROW_HEIGHT), highlight)
        signal = line.signal
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(QColor(tones.muted) if line.closed else text_colour)
        title_box = QRectF(MARGIN, top + 3, LABEL_WIDTH - 2 * MARGIN, ROW_HEIGHT / 2 - 2)
        title = f"{signal.symbol} · {signal.strategy_name}"
        elided = QFontMetricsF(bold).elidedText(title, Qt.TextElideMode.ElideRight, title_box.width())
        painter.drawText(title_box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided)
        painter.setFont(small)
        side_colour = tones.muted if line.closed else (tones.gain if signal.position == "long" else tones.loss)
        painter.setPen(QColor(side_colour))
        detail = f"{signal.position.upper()} @ {format_price(signal.price_open)}"
        detail += f" · {line.outcome}" if line.closed else " · open"
        detail = QFontMetricsF(small).elidedText(detail, Qt.TextElideMode.ElideRight, title_box.width())
        painter.drawText(
            title_box.translated(0, ROW_HEIGHT / 2 - 2),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            detail,
        )

        cell_top = top + 6
        cell_height = ROW_HEIGHT - 18
        for branch, reached, fill in (("loss", line.loss, tones.loss_cell), ("profit", line.profit, tones.profit_cell)):
            for position, level in enumerate(LEVELS):
                if branch == "profit":
                    x = centre + CENTRE_GAP / 2 + position * (cell + CELL_GAP)
                else:
                    x = centre - CENTRE_GAP / 2 - (position + 1) * (cell + CELL_GAP) + CELL_GAP
                box = QRectF(x, cell_top, cell, cell_height)
                lit = level in reached
                if lit:
                    background = QColor(tones.muted if line.closed else fill)
                    foreground = QColor(tones.cell_text)
                else:
                    background = QColor(tones.empty_cell)
                    foreground = QColor(tones.muted)
                if line.closed and not lit:
                    background.setAlpha(110)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(background)
                painter.drawRoundedRect(box, 3, 3)
                painter.setPen(foreground)
                label = f"{level}" if branch == "profit" else f"−{level}"
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)

        painter.setPen(QPen(QColor(tones.muted), 1))
        painter.drawLine(
            QRectF(centre, cell_top - 2, 0, cell_height + 4).topLeft(),
            QRectF(centre, cell_top - 2, 0, cell_height + 4).bottomLeft(),
        )
        span = 10 * (cell + CELL_GAP) - CELL_GAP
        bar_top = cell_top + cell_height + 4
        painter.setPen(Qt.PenStyle.NoPen)
        if line.percent_tp > 0:
            painter.setBrush(QColor(tones.profit_cell))
            painter.drawRect(QRectF(centre + CENTRE_GAP / 2, bar_top, span * min(line.percent_tp, 100) / 100, 3))
        elif line.percent_sl > 0:
            width = span * min(line.percent_sl, 100) / 100
            painter.setBrush(QColor(tones.loss_cell))
            painter.drawRect(QRectF(centre - CENTRE_GAP / 2 - width, bar_top, width, 3))


class PartialLevelsArea(QScrollArea):
    """The level ladders in a scroll area, so that many runs stay readable in a small pane."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.levels = PartialLevelsPanel(self)
        self.setWidget(self.levels)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
