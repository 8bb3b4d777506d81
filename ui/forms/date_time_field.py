"""A UTC date and time to the minute that can be typed: ``YYYY-MM-DD HH:MM`` in a masked line, or picked.

``QDateTimeEdit`` only takes typing into a selected section: clicked into, its digits are refused, and a whole date
typed or pasted over a selection loses parts of itself. Here every character typed overwrites the one under the
cursor (the separators are skipped), so select-all and type, paste, or click and correct a digit all work; the
button beside the line opens a calendar for those who would rather pick a day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import QCalendarWidget, QHBoxLayout, QLineEdit, QMenu, QToolButton, QWidget, QWidgetAction

#: The text format of the field, as ``datetime.strptime`` reads it.
DATE_TIME_FORMAT = "%Y-%m-%d %H:%M"
#: The line's input mask: digits where ``DATE_TIME_FORMAT`` has numbers, ``_`` shown where none is typed yet.
_MASK = "0000-00-00 00:00;_"


def parse_date_time(text: str) -> datetime | None:
    """Return the UTC datetime ``text`` (``YYYY-MM-DD HH:MM``) stands for, or None if it is not a date and time."""
    try:
        return datetime.strptime(text.strip(), DATE_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


class DateTimeField(QWidget):
    """A UTC date and time: a line typed over in place, and a calendar button that sets its day.

    Signals
    -------
    text_changed
        The text changed, typed or set.
    """

    text_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = QLineEdit(self)
        self.line.setInputMask(_MASK)
        self.line.setPlaceholderText("YYYY-MM-DD HH:MM")
        # The calendar is built when first opened: a form with two date fields should not pay for two calendars.
        self.calendar: QCalendarWidget | None = None
        self.calendar_menu = QMenu(self)
        self.calendar_button = QToolButton(self)
        self.calendar_button.setArrowType(Qt.ArrowType.DownArrow)  # the drop-down look of a date edit's popup
        self.calendar_button.setToolTip("Pick the day from a calendar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.calendar_button)
        self.setFocusProxy(self.line)
        self.line.textChanged.connect(self.text_changed)
        self.calendar_menu.aboutToShow.connect(self._show_day_in_calendar)
        self.calendar_button.clicked.connect(self.open_calendar)

    def text(self) -> str:
        """Return the text shown (without the mask's blanks)."""
        return self.line.text()

    def value(self) -> datetime | None:
        """Return the date and time typed, or None while the text is not one (incomplete or impossible)."""
        return parse_date_time(self.line.text())

    def set_value(self, value: datetime) -> None:
        """Show ``value`` (aware: converted to UTC; naive: taken as UTC), to the minute."""
        moment = value.astimezone(UTC) if value.tzinfo is not None else value
        self.line.setText(moment.strftime(DATE_TIME_FORMAT))

    def open_calendar(self) -> None:
        """Open the calendar under the field, on the day shown."""
        self.calendar_menu.popup(self.mapToGlobal(self.rect().bottomLeft()))

    def pick_day(self, day: QDate) -> None:
        """Set the day to ``day`` and keep the time (midnight while the text is not a date and time)."""
        current = self.value() or datetime(2000, 1, 1, tzinfo=UTC)
        self.set_value(datetime.combine(date(day.year(), day.month(), day.day()), current.timetz()))
        self.calendar_menu.close()

    def _show_day_in_calendar(self) -> None:
        if self.calendar is None:
            self.calendar = QCalendarWidget()
            self.calendar.setGridVisible(True)
            self.calendar.clicked.connect(self.pick_day)
            action = QWidgetAction(self.calendar_menu)
            action.setDefaultWidget(self.calendar)
            self.calendar_menu.addAction(action)
        current = self.value()
        if current is not None:
            self.calendar.setSelectedDate(QDate(current.year, current.month, current.day))
