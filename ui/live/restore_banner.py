"""The restore banner: live positions and orders stored by the last session, and the choice to resume them.

Nothing trades on its own at start: the banner lists what is stored and says so. Resume hands the checked lines on
(the panel restarts their strategies, which restore them, SPEC §15.4) and the panel reports back: the lines that
resumed leave, a line that could not resume stays with the reason beneath (one note per line: its latest try's; a
line that resumed on a later try takes its note with it). Strategy files that could not be loaded
again at start are named beneath too. Dismiss only hides the banner, the records stay stored and are offered again
at the next start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from enum import IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.charts.candle_chart import format_price
from ui.live.runs import StoredLiveSignal
from ui.themes import paint_tinted_panel
from ui.widgets.statistics_table import tabular_font

_ModelIndex = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

EXPLANATION = (
    "These positions and orders were open when the workstation last stopped. They are still stored; nothing trades "
    "until you resume. Resume restarts the strategy of each checked line on its exchange: it manages the stored "
    "position or order from where it was, then trades on as usual. Dismiss only hides this message."
)

KIND_TEXT = {"open_position": "Open position", "limit_order": "Limit order"}


class StoredColumn(IntEnum):
    """The columns of the banner's table, in order."""

    KIND = 0
    SYMBOL = 1
    STRATEGY = 2
    EXCHANGE = 3
    SIDE = 4
    ENTRY = 5
    TAKE_PROFIT = 6
    STOP_LOSS = 7
    AGE = 8


STORED_HEADERS: tuple[str, ...] = ("Kind", "Symbol", "Strategy", "Exchange", "Side", "Entry", "TP", "SL", "Age")
_NUMERIC = frozenset({StoredColumn.ENTRY, StoredColumn.TAKE_PROFIT, StoredColumn.STOP_LOSS, StoredColumn.AGE})


def age_text(since_ms: int, now_ms: int) -> str:
    """Return how long ago ``since_ms`` was, as a trader says it: ``45 min``, ``3 h 12 min``, ``2 d 4 h``."""
    minutes = max(0, now_ms - since_ms) // 60_000
    if minutes < 1:
        return "under 1 min"
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def is_paper(record: StoredLiveSignal) -> bool:
    """Tell whether ``record`` was stored by a paper session (its exchange is a replay named ``paper-…``)."""
    return record.signal.exchange_name.startswith("paper-")


def _line_name(record: StoredLiveSignal) -> str:
    kind = KIND_TEXT[record.kind].lower()
    return f"The {kind} of {record.signal.strategy_name} on {record.signal.symbol} ({record.signal.exchange_name})"


def stored_since(record: StoredLiveSignal) -> int:
    """Return when the stored signal began: the fill of an open position, the placing of a limit order."""
    signal = record.signal
    if record.kind == "open_position" and signal.pending_at is not None:
        return signal.pending_at
    return signal.scheduled_at


class StoredSignalsModel(QAbstractTableModel):
    """The stored signals, each with a check box (checked at first) saying whether Resume takes it."""

    def __init__(self, now_ms: Callable[[], int], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._now_ms = now_ms
        self._records: list[StoredLiveSignal] = []
        self._checked: list[bool] = []
        self._texts: list[tuple[str, ...]] = []

    def set_records(self, records: Sequence[StoredLiveSignal]) -> None:
        """Show ``records``, every live one checked (paper ones resume with their session, so they start unchecked)."""
        self.beginResetModel()
        now = self._now_ms()
        self._records = list(records)
        # A paper session's records wait for that session to be started again: nothing to resume from here.
        self._checked = [not is_paper(record) for record in self._records]
        self._texts = [self._row_texts(record, now) for record in self._records]
        self.endResetModel()

    def records(self) -> list[StoredLiveSignal]:
        """Return every record listed, in its order."""
        return list(self._records)

    def checked_records(self) -> list[StoredLiveSignal]:
        """Return the checked records, in their order."""
        return [record for record, checked in zip(self._records, self._checked, strict=True) if checked]

    def set_checked(self, row: int, checked: bool) -> None:
        """Check or uncheck the line ``row``."""
        self.setData(
            self.index(row, 0),
            Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked,
            Qt.ItemDataRole.CheckStateRole,
        )

    def texts(self) -> list[tuple[str, ...]]:
        """Return every line's cells as shown."""
        return list(self._texts)

    @staticmethod
    def _row_texts(record: StoredLiveSignal, now: int) -> tuple[str, ...]:
        signal = record.signal
        if is_paper(record):
            # Replayed time: an age against the wall clock would read as years.
            return (
                f"{KIND_TEXT.get(record.kind, record.kind)} (paper)",
                signal.symbol,
                signal.strategy_name,
                signal.exchange_name,
                signal.position.upper(),
                format_price(signal.price_open),
                format_price(signal.price_take_profit),
                format_price(signal.price_stop_loss),
                "replayed",
            )
        return (
            KIND_TEXT.get(record.kind, record.kind),
            signal.symbol,
            signal.strategy_name,
            signal.exchange_name,
            signal.position.upper(),
            format_price(signal.price_open),
            format_price(signal.price_take_profit),
            format_price(signal.price_stop_loss),
            age_text(stored_since(record), now),
        )

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(STORED_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return STORED_HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if section in _NUMERIC else _LEFT
        return None

    def flags(self, index: _ModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == StoredColumn.KIND:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()][column]
        if role == Qt.ItemDataRole.CheckStateRole and column == StoredColumn.KIND:
            return Qt.CheckState.Checked if self._checked[index.row()] else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in _NUMERIC else _LEFT
        if role == Qt.ItemDataRole.ToolTipRole and column == StoredColumn.KIND:
            return f"Signal {self._records[index.row()].signal.id}"
        return None

    def setData(self, index: _ModelIndex, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole or index.column() != StoredColumn.KIND:
            return False
        state = value if isinstance(value, Qt.CheckState) else Qt.CheckState(int(value))  # type: ignore[call-overload]
        self._checked[index.row()] = state == Qt.CheckState.Checked
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True


class RestoreBanner(QFrame):
    """Lists the live positions and limit orders stored by the last session, with Resume and Dismiss.

    Signals
    -------
    resume_requested(list)
        The checked records (``PersistedLiveSignal``) to resume; the banner hides itself.
    dismissed()
        The trader dismissed the banner; the records stay stored.
    """

    resume_requested = Signal(list)
    dismissed = Signal()

    def __init__(self, now_ms: Callable[[], int] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restoreBanner")
        self.model = StoredSignalsModel(now_ms or (lambda: int(time.time() * 1000)), self)
        self.title = QLabel(self)
        title_font = self.title.font()
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.explanation = QLabel(EXPLANATION, self)
        self.explanation.setWordWrap(True)
        #: Why a line could not resume, or a strategy file could not be loaded: one line each.
        self.notes = QLabel(self)
        self.notes.setObjectName("restoreNotes")
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.hide()
        #: The notes given with :meth:`set_notes`, and why each line did not resume, by signal id.
        self._notes: list[str] = []
        self._not_resumed: dict[str, str] = {}
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setFont(tabular_font(self.table))
        self.table.verticalHeader().hide()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() * 3 // 2)
        self.resume_button = QPushButton("Resume checked", self)
        self.resume_button.setObjectName("resume")
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.setObjectName("dismiss")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.dismiss_button)
        buttons.addWidget(self.resume_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.explanation)
        layout.addWidget(self.table)
        layout.addWidget(self.notes)
        layout.addLayout(buttons)
        self.resume_button.clicked.connect(self.resume)
        self.dismiss_button.clicked.connect(self.dismiss)
        self.model.dataChanged.connect(self._update_resume_button)
        self.hide()

    def show_records(self, records: Sequence[StoredLiveSignal]) -> None:
        """List ``records`` and show the banner; with neither records nor notes, hide it."""
        self.model.set_records(records)
        positions = sum(1 for record in records if record.kind == "open_position")
        orders = len(records) - positions
        parts = [
            f"{count} {noun}{'s' if count != 1 else ''}"
            for count, noun in ((positions, "open position"), (orders, "waiting limit order"))
            if count
        ]
        self.title.setText(f"Stored from the last session: {' and '.join(parts)}" if parts else "From the last session")
        self.explanation.setVisible(bool(records))
        self.table.setVisible(bool(records))
        rows = max(1, len(records))
        header_height = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(header_height + rows * self.table.verticalHeader().defaultSectionSize() + 4)
        self._update_resume_button()
        self._update_visibility()

    def note_texts(self) -> list[str]:
        """Return the notes shown beneath the lines, one per problem."""
        text = self.notes.text()
        return text.split("\n") if text else []

    def set_notes(self, notes: Sequence[str]) -> None:
        """Show ``notes`` beneath the lines (none: no notes), before why lines did not resume; show or hide it."""
        self._notes = list(notes)
        self._show_notes()

    def resumed(self, tried: Sequence[StoredLiveSignal], failed: Sequence[tuple[StoredLiveSignal, str]]) -> None:
        """Take the outcome of a resume of ``tried``: keep only the lines that ``failed``, each with its reason.

        A line tried that is not among ``failed`` resumed: its note of an earlier try goes with it.
        """
        for record in tried:
            self._not_resumed.pop(record.signal.id, None)
        for record, reason in failed:
            self._not_resumed[record.signal.id] = f"{_line_name(record)} did not resume: {reason}"
        self.show_records([record for record, _reason in failed])
        self._show_notes()

    def resume(self) -> None:
        """Hide the banner and hand the checked records on with ``resume_requested``.

        The panel reports back with :meth:`resumed`, which shows the banner again if a line could not resume.
        """
        records = self.model.checked_records()
        if not records:
            return
        self.hide()
        self.resume_requested.emit(records)

    def dismiss(self) -> None:
        """Hide the banner; the records stay stored."""
        self.hide()
        self.dismissed.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the banner tinted with the current theme's highlight, so it stands out in either theme."""
        paint_tinted_panel(self, self.palette().highlight().color())

    def _show_notes(self) -> None:
        notes = [*self._notes, *self._not_resumed.values()]
        self.notes.setText("\n".join(notes))
        self.notes.setVisible(bool(notes))
        self._update_visibility()

    def _update_visibility(self) -> None:
        self.setVisible(self.model.rowCount() > 0 or bool(self.notes.text()))

    def _update_resume_button(self) -> None:
        count = len(self.model.checked_records())
        self.resume_button.setEnabled(count > 0)
        self.resume_button.setText(f"Resume {count} checked" if count else "Resume checked")
