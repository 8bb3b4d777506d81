"""The Strategies dock: every registered strategy, and strategy files the trader loads and reloads."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStringListModel, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListView, QPushButton, QVBoxLayout, QWidget

import workstation as ws


class StrategiesPanel(QWidget):
    """Lists the registered strategies; loads strategy files through ``ws.StrategyFiles``."""

    strategies_changed = Signal()
    #: (title, details): a file failed to load; the window shows it in the Log dock and the error panel.
    load_failed = Signal(str, str)

    def __init__(self, files: ws.StrategyFiles, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.files = files
        self.model = QStringListModel(self)
        self.view = QListView(self)
        self.view.setModel(self.model)
        self.view.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.reload_button = QPushButton("Reload files", self)
        self.reload_button.setEnabled(False)
        self.reload_button.clicked.connect(self.reload_all)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reload_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._paths: list[Path] = []
        self.refresh()

    def refresh(self) -> None:
        """Show the strategies registered now, then the built-in ones that a run registers on demand."""
        self.model.setStringList(ws.strategy_choices())

    def names(self) -> list[str]:
        """Return the names listed."""
        return list(self.model.stringList())

    def load_file(self, path: str | Path) -> bool:
        """Load (or reload) a strategy file; on failure report it and keep what was registered before."""
        resolved = Path(path).resolve()
        try:
            names = self.files.load(resolved)
        except ws.StrategyFileError as error:
            self.status.setText(f"Could not load {resolved.name}: see the log.")
            self.load_failed.emit(str(error), error.details or str(error))
            return False
        if resolved not in self._paths:
            self._paths.append(resolved)
        self.reload_button.setEnabled(True)
        self.status.setText(f"{resolved.name}: {', '.join(names)}")
        self.refresh()
        self.strategies_changed.emit()
        return True

    def load_remembered(self) -> list[ws.StrategyFileError]:
        """Load the files remembered from earlier sessions; return the ones that failed (each also reported)."""
        names, failures = self.files.load_remembered()
        for path in self.files.remembered():
            resolved = path.resolve()
            if self.files.registered_by(resolved) and resolved not in self._paths:
                self._paths.append(resolved)
        for error in failures:
            self.load_failed.emit(f"Strategy file not reloaded: {error}", error.details or str(error))
        if names:
            self.reload_button.setEnabled(True)
            self.status.setText(f"Reloaded from the last session: {', '.join(names)}")
            self.refresh()
            self.strategies_changed.emit()
        return failures

    def reload_all(self) -> None:
        """Reload every file loaded so far, in the order they were first loaded."""
        for path in list(self._paths):
            self.load_file(path)
