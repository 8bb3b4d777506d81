"""The Log dock: engine log records and reported errors, newest at the bottom, bounded."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

#: Lines kept in the dock; older ones scroll away so a long session cannot eat memory.
MAX_LINES = 5000


class LogRelay(QObject):
    """Carries formatted log lines to the GUI thread (a logging handler may run on any thread)."""

    line_logged = Signal(str)


class QtLogHandler(logging.Handler):
    """A logging handler that hands the records to the Log dock through a queued Qt signal.

    Not the records of errors also emitted on ``ws.events.error``: the window reports each of those itself.
    """

    def __init__(self, relay: LogRelay) -> None:
        super().__init__(level=logging.INFO)
        self.relay = relay
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "error_event", False):
            return  # an engine error also emitted on ``ws.events.error``: the window reports those (repeats folded)
        try:
            self.relay.line_logged.emit(self.format(record))
        except Exception:  # a broken log line must never take the window down
            self.handleError(record)


class LogPanel(QWidget):
    """Read-only, monospaced log view with a bounded number of lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(MAX_LINES)
        self.view.setFont(QFont("monospace", 9))
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def append(self, line: str) -> None:
        """Add one line (or several, separated by newlines) at the bottom."""
        self.view.appendPlainText(line)

    def append_error(self, title: str, details: str) -> None:
        """Add an error with its details (a traceback, usually), stamped with the wall time."""
        self.append(f"{time.strftime('%H:%M:%S')} ERROR {title}\n{details.rstrip()}")

    def text(self) -> str:
        """Return everything shown."""
        return self.view.toPlainText()
