"""Opening the window's dialogs in a test as a user does, and waiting for what they load when shown."""

from __future__ import annotations

import qasync
from pytestqt.qtbot import QtBot

from ui.data import StoredDataDialog
from ui.data.stored_data_dialog import HEADERS
from workstation.exchanges.candle_store import CandleStore


def open_stored_data(store: CandleStore, qtbot: QtBot, qloop: qasync.QEventLoop) -> StoredDataDialog:
    """Show the Stored data dialog of ``store`` and wait until it has listed the store (showing it reloads)."""
    dialog = StoredDataDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.task is not None
    qloop.run_until_complete(dialog.task)
    return dialog


def table_texts(dialog: StoredDataDialog) -> list[list[str]]:
    """Return the Stored data dialog's table as it reads: a list of cell texts per series."""
    model = dialog.table_model
    return [[model.index(row, column).data() for column in range(len(HEADERS))] for row in range(model.rowCount())]
