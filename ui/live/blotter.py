"""The blotter: what every live run did, one line per fact, newest last, the oldest lines dropped past a cap.

Listed: limit orders placed, positions opened and closed, orders cancelled, partial levels reached, position commands
(the strategy's and the trader's: partial closes, trailing moves, breakeven, averaging in...), pauses, the trader's
commands refused, runs started, resumed, refused, asked to stop, ended or failed, tick errors and broker gates that
failed. Not listed: ``active`` and ``idle`` ticks, which say only that nothing happened (the strategies table shows
their prices).

A run's errors repeat: a halted desk refuses each of its entries, every minute, alike. An error with the same
reason (:func:`~ui.live.feed.error_reason`) as the run's previous line is not a new line: that line is updated in
place, to the newest time, the reason, and a running count beside the action (``ERROR ×12``). Any other line of the
run ends the row, so the next refusal starts a line again. Each error is still one event on ``ws.events.error``;
only the lines the trader reads are folded.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QVBoxLayout, QWidget

import workstation as ws
from ui.charts.candle_chart import format_price
from ui.live.feed import error_reason, is_live_error
from ui.live.runs import LevelReached, RunCommanded, RunKey, key_of
from ui.live.tones import DARK_TONES, LiveTones
from ui.widgets.formatting import BY_HAND, iso, signed
from ui.widgets.statistics_table import CopyableTableView

_ModelIndex = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

#: Lines kept: the oldest go first, so a run of weeks cannot grow the window's memory without end.
BLOTTER_CAPACITY = 5000
#: The note of the PAUSED line a restarted run shows when its strategy was paused when it stopped.
RESTORED_PAUSE = "restored: paused when the run stopped"


class BlotterColumn(IntEnum):
    """The columns of the blotter, in order."""

    TIME = 0
    SYMBOL = 1
    STRATEGY = 2
    ACTION = 3
    PRICE = 4
    NOTE = 5


BLOTTER_HEADERS: tuple[str, ...] = ("Time (UTC)", "Symbol", "Strategy", "Action", "Price", "Note")

#: How an action is coloured: by a tone's name (see ``LiveTones``), or not at all.
_ACTION_TONES: dict[str, str] = {
    "OPENED": "accent",
    "SCHEDULED": "accent",
    "CANCELLED": "muted",
    "PROFIT LEVEL": "gain",
    "LOSS LEVEL": "loss",
    "FAILED": "loss",
    "START REFUSED": "loss",
    "ERROR": "loss",
    "STOP REQUESTED": "warning",
    "ENDED": "muted",
    "PARTIAL-PROFIT": "gain",
    "PARTIAL-LOSS": "loss",
    "PAUSED": "warning",
    "RESUMED": "accent",
    "COMMAND REFUSED": "loss",
}


@dataclass(frozen=True, slots=True)
class BlotterLine:
    """One line of the blotter, its texts written once; ``tone`` names the ``LiveTones`` colour of its action."""

    timestamp: int
    symbol: str
    strategy_name: str
    action: str
    price: float | None
    note: str
    tone: str | None
    #: An error's reason: a line of the run with the same one right after is folded into this line.
    repeat: str | None = None

    def texts(self) -> tuple[str, ...]:
        """Return the line's cells as shown."""
        return (
            _second_time(self.timestamp),
            self.symbol,
            self.strategy_name,
            self.action,
            format_price(self.price) if self.price is not None else "",
            self.note,
        )


def _second_time(timestamp: int) -> str:
    return iso(timestamp)[:19].replace("T", " ")


def _signal_note(signal: ws.SignalRow, limit: bool) -> str:
    side = signal.position.upper() + (" limit" if limit else "")
    note = f"{side} · TP {format_price(signal.price_take_profit)} · SL {format_price(signal.price_stop_loss)}"
    return f"{note} · {signal.note}" if signal.note else note


def _commit_note(event: ws.CommitEvent) -> str:
    """Return what a command left the position at: its levels, the share held, what the command took."""
    signal = event.signal
    # First, where a narrow Note column still shows it: the trader looks for their own commands.
    parts = [BY_HAND] if event.source == "trader" else []
    if event.percent_to_close is not None:
        parts.append(f"closed {event.percent_to_close:g}%")
    if event.cost is not None:
        parts.append(f"added {event.cost:g}")
    parts += [
        f"entry {format_price(signal.price_open)}",
        f"TP {format_price(signal.price_take_profit)}",
        f"SL {format_price(signal.price_stop_loss)}",
        f"held {100 - signal.partial_executed:.2f}%",
    ]
    note = " · ".join(parts)
    return f"{note} · {event.note}" if event.note else note


def blotter_line(event: object, last_tick: dict[RunKey, int]) -> BlotterLine | None:
    """Return the blotter line of one live event, or None for events the blotter does not list.

    ``last_tick`` holds each run's latest tick time; it dates the facts that carry no time of their own (a run
    ended) in the run's clock, which for paper trading is the replayed time, not the wall clock.
    """
    symbol, strategy_name = key = key_of(event)
    when = last_tick.get(key, int(time.time() * 1000))

    def line(
        timestamp: int, action: str, price: float | None, note: str, tone: str | None = None, repeat: str | None = None
    ) -> BlotterLine:
        tone = tone or _ACTION_TONES.get(action)
        return BlotterLine(timestamp, symbol, strategy_name, action, price, note, tone, repeat)

    if isinstance(event, ws.ScheduledResult):
        return line(event.timestamp, "SCHEDULED", event.signal.price_open, _signal_note(event.signal, True))
    if isinstance(event, ws.OpenedResult):
        opened = event.signal.pending_at if event.signal.pending_at is not None else event.timestamp
        return line(opened, "OPENED", event.current_price, _signal_note(event.signal, False))
    if isinstance(event, ws.ClosedResult):
        pnl = event.pnl.pnl_percentage
        note = f"{event.close_reason} · PnL {signed(pnl, 2)}%"
        return line(event.close_timestamp, "CLOSED", event.current_price, note, "gain" if pnl > 0 else "loss")
    if isinstance(event, ws.CancelledResult):
        return line(event.close_timestamp, "CANCELLED", event.current_price, event.reason)
    if isinstance(event, LevelReached):
        partial = event.event
        sign = "+" if event.branch == "profit" else "−"
        note = f"{sign}{partial.level}% of the way to {'TP' if event.branch == 'profit' else 'SL'}"
        return line(partial.timestamp, f"{event.branch.upper()} LEVEL", partial.current_price, note)
    if isinstance(event, ws.CommitEvent):
        return line(event.timestamp, event.action.upper(), event.current_price, _commit_note(event))
    if isinstance(event, ws.PauseEvent):
        return line(
            event.timestamp, "PAUSED" if event.paused else "RESUMED", None, RESTORED_PAUSE if event.restored else ""
        )
    if isinstance(event, ws.DoneEvent):
        return None if event.backtest else line(when, "ENDED", None, "")
    if isinstance(event, ws.ErrorEvent):
        if not is_live_error(event):
            return None
        action = "FAILED" if event.source == "Live.background" else "ERROR"
        # A broker's failure reads as what it was about and what follows; the Log dock has the full message.
        reason = error_reason(event)
        note = reason if isinstance(event.exception, ws.BrokerGateError) else f"{event.exception_type}: {event.message}"
        return line(event.timestamp or when, action, None, note, repeat=reason)
    if isinstance(event, RunCommanded):
        return line(event.timestamp if event.timestamp is not None else when, event.command.upper(), None, event.note)
    return None


class LiveBlotterModel(QAbstractTableModel):
    """The blotter's lines, oldest first, at most ``capacity`` of them."""

    def __init__(self, capacity: int = BLOTTER_CAPACITY, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._lines: list[BlotterLine] = []
        self._texts: list[tuple[str, ...]] = []
        self._last_tick: dict[RunKey, int] = {}
        self._tones = DARK_TONES
        #: Lines dropped at the top so far: a line's place counted from the first line ever is its row plus this.
        self._dropped = 0
        #: Each run's last line, when it is an error: its place from the first line ever and how many it stands for.
        self._repeats: dict[RunKey, tuple[int, int]] = {}

    def apply(self, events: Sequence[object]) -> None:
        """Add the lines of a batch of the live feed with one insertion (and at most one removal at the top)."""
        lines = []
        for event in events:
            stamp = getattr(event, "timestamp", None)
            if isinstance(stamp, int) and not isinstance(event, RunCommanded | ws.ErrorEvent):
                self._last_tick[key_of(event)] = stamp
            line = blotter_line(event, self._last_tick)
            if line is not None:
                lines.append(line)
        self.append(lines)

    def append(self, lines: Sequence[BlotterLine]) -> None:
        """Add lines at the end, dropping the oldest beyond the capacity; a repeated error updates its run's line."""
        added: list[BlotterLine] = []
        updated: set[int] = set()
        for line in lines:
            key = (line.symbol, line.strategy_name)
            place = self._repeats.pop(key, None)
            if line.repeat is not None and place is not None:
                row, count = place[0] - self._dropped, place[1] + 1
                # The count leads, in the narrow Action column: a long reason's end is cut in the Note column.
                folded = replace(line, action=f"{line.action} ×{count}", note=line.repeat)
                if row >= len(self._lines) and added[row - len(self._lines)].repeat == line.repeat:
                    added[row - len(self._lines)] = folded
                    self._repeats[key] = (place[0], count)
                    continue
                if 0 <= row < len(self._lines) and self._lines[row].repeat == line.repeat:
                    self._lines[row], self._texts[row] = folded, folded.texts()
                    updated.add(row)
                    self._repeats[key] = (place[0], count)
                    continue
            if line.repeat is not None:
                self._repeats[key] = (self._dropped + len(self._lines) + len(added), 1)
            added.append(line)
        for row in sorted(updated):
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(BLOTTER_HEADERS) - 1))
        self._insert(added)

    def _insert(self, given: Sequence[BlotterLine]) -> None:
        lines = list(given)[-self.capacity :]
        # Lines past the capacity within one batch are dropped before they are shown: counted dropped all the same.
        self._dropped += len(given) - len(lines)
        if not lines:
            return
        overflow = len(self._lines) + len(lines) - self.capacity
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            del self._lines[:overflow]
            del self._texts[:overflow]
            self.endRemoveRows()
            self._dropped += overflow
        first = len(self._lines)
        self.beginInsertRows(QModelIndex(), first, first + len(lines) - 1)
        self._lines.extend(lines)
        self._texts.extend(line.texts() for line in lines)
        self.endInsertRows()

    def line_at(self, row: int) -> BlotterLine:
        """Return the line shown in ``row``."""
        return self._lines[row]

    def texts(self) -> list[tuple[str, ...]]:
        """Return every line's cells, oldest first."""
        return list(self._texts)

    def set_tones(self, tones: LiveTones) -> None:
        """Colour the actions with ``tones`` (a theme change)."""
        self._tones = tones
        if self._lines:
            last = len(self._lines) - 1
            self.dataChanged.emit(self.index(0, BlotterColumn.ACTION), self.index(last, BlotterColumn.ACTION))

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(BLOTTER_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return BLOTTER_HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if section == BlotterColumn.PRICE else _LEFT
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()][column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column == BlotterColumn.PRICE else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole and column == BlotterColumn.ACTION:
            tone = self._lines[index.row()].tone
            return QBrush(QColor(getattr(self._tones, tone))) if tone is not None else None
        if role == Qt.ItemDataRole.ToolTipRole and column == BlotterColumn.NOTE:
            return self._texts[index.row()][column] or None
        return None


#: The widest text each column usually holds, measured once to size the columns.
_WIDTH_SAMPLES: tuple[str, ...] = (
    "0000-00-00 00:00:00",
    "BTCUSDT00",
    "sma-cross-market",
    "STOP REQUESTED",
    "000000.00",
)


class LiveBlotter(QWidget):
    """The blotter table; it follows the newest line while scrolled to the bottom, and stays put otherwise."""

    def __init__(self, capacity: int = BLOTTER_CAPACITY, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LiveBlotterModel(capacity, self)
        self.table = CopyableTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        metrics, header_metrics = self.table.fontMetrics(), header.fontMetrics()
        for column, sample in enumerate(_WIDTH_SAMPLES):
            width = max(metrics.horizontalAdvance(sample), header_metrics.horizontalAdvance(BLOTTER_HEADERS[column]))
            header.resizeSection(column, width + metrics.horizontalAdvance("000"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self._following = True
        self.model.rowsAboutToBeInserted.connect(self._note_position)
        self.model.rowsInserted.connect(self._follow)

    def apply(self, events: Sequence[object]) -> None:
        """Add the lines of a batch of the live feed."""
        self.model.apply(events)

    def _note_position(self) -> None:
        bar = self.table.verticalScrollBar()
        self._following = bar.value() >= bar.maximum()

    def _follow(self) -> None:
        if self._following:
            self.table.scrollToBottom()
