"""The market data dialogs on a real candle store: CSV import with row errors, stored series, history download."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import qasync
from dialog_helpers import open_stored_data, table_texts
from integration.exchange_server import KLINES, FakeBinance, fake_binance
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.data import DownloadHistoryDialog, ImportCsvDialog
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.download import DownloadProgress
from workstation.models.candles import CANDLE_DTYPE

# The offscreen platform plugin warns on every top-level show(); the warning says nothing about the dialogs.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SHOTS = Path("/tmp/ui_shots")
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
HEADER = "Date,Open,High,Low,Close,Volume"


def candle_line(minute: int, open_: float) -> str:
    return f"{T0 + minute * MINUTE},{open_},{open_ + 2},{open_ - 1},{open_ + 1},5"


#: Line 5 has close "abc"; line 9 repeats the time of line 8.
BAD_CSV = [
    HEADER,
    candle_line(0, 100),
    candle_line(1, 101),
    candle_line(2, 102),
    f"{T0 + 3 * MINUTE},103,105,102,abc,5",
    candle_line(4, 104),
    candle_line(5, 105),
    candle_line(6, 106),
    candle_line(6, 107),
    candle_line(7, 108),
]


def candles(minutes: list[int], opens: list[float]) -> np.ndarray:
    array = np.empty(len(minutes), dtype=CANDLE_DTYPE)
    array["timestamp"] = [T0 + minute * MINUTE for minute in minutes]
    array["open"] = opens
    array["high"] = [value + 2 for value in opens]
    array["low"] = [value - 1 for value in opens]
    array["close"] = [value + 1 for value in opens]
    array["volume"] = 5.0
    return array


def shot(widget: QDialog, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    assert widget.grab().save(str(SHOTS / name))


def list_texts(dialog: ImportCsvDialog) -> list[str]:
    return [dialog.errors_list.item(row).text() for row in range(dialog.errors_list.count())]


# ---------------------------------------------------------------------------------------------------------------
# Import


def test_the_import_dialog_rejects_a_bad_csv_with_the_row_number(
    qtbot: QtBot, qloop: qasync.QEventLoop, tmp_path: Path, store: CandleStore
) -> None:
    path = tmp_path / "btcusdt_1m.csv"
    path.write_text("\n".join(BAD_CSV) + "\n", encoding="utf-8")
    dialog = ImportCsvDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    imported: list[tuple[str, str, str]] = []
    dialog.imported.connect(lambda *series: imported.append(series))

    assert dialog.load_file(path)
    assert dialog.symbol_edit.text() == "BTCUSDT"
    assert dialog.exchange_edit.text() == "csv"
    assert dialog.interval_combo.currentText() == "1m"
    assert {field: combo.currentText() for field, combo in dialog.column_combos.items()} == {
        "timestamp": "Date",
        "open": "Open",
        "high": "High",
        "low": "Low",
        "close": "Close",
        "volume": "Volume",
    }
    assert dialog.time_unit_combo.currentData() == "ms"
    assert (dialog.preview_model.rowCount(), dialog.preview_model.columnCount()) == (9, 6)
    assert dialog.preview_model.index(3, 4).data() == "abc"

    async def import_clicked(button_name: str) -> None:
        qtbot.mouseClick(getattr(dialog, button_name), Qt.MouseButton.LeftButton)
        assert dialog.import_task is not None
        assert not dialog.import_button.isEnabled()
        await dialog.import_task

    qloop.run_until_complete(import_clicked("import_button"))

    assert dialog.status_label.text() == "btcusdt_1m.csv was not imported (2 errors): fix these lines and import again."
    assert list_texts(dialog) == [
        "line 5: Close 'abc' is not a number",
        f"line 9: Date '{T0 + 6 * MINUTE}' repeats the time of line 8",
    ]
    assert dialog.errors_list.isVisible()
    assert dialog.import_prefix_button.isVisible()
    assert dialog.import_prefix_button.text() == "Import the 3 valid rows before line 5"
    assert [row for row in range(9) if dialog.preview_model.is_bad_row(row)] == [3, 7]
    assert dialog.preview_model.headerData(3, Qt.Orientation.Vertical) == "5"
    assert store.series() == []
    assert imported == []
    shot(dialog, "import_csv_dialog_errors.png")

    qloop.run_until_complete(import_clicked("import_prefix_button"))

    assert dialog.status_label.text() == "Imported 3 candles into csv · BTCUSDT · 1m."
    assert not dialog.errors_list.isVisible()
    assert not dialog.import_prefix_button.isVisible()
    assert not dialog.preview_model.is_bad_row(3)
    assert imported == [("csv", "BTCUSDT", "1m")]
    np.testing.assert_array_equal(
        store.read("csv", "BTCUSDT", "1m", T0, T0 + 10 * MINUTE), candles([0, 1, 2], [100, 101, 102])
    )


def test_the_import_dialog_opens_with_only_labelled_buttons(qtbot: QtBot, store: CandleStore) -> None:
    # The "Import the N valid rows" button waits hidden until a file has bad rows; it once showed blank.
    dialog = ImportCsvDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    shown = [button.text() for button in dialog.buttons.buttons() if button.isVisible()]
    assert sorted(shown) == ["Close", "Import"]


def test_the_import_dialog_refuses_a_mapping_that_reads_one_column_twice(
    qtbot: QtBot, tmp_path: Path, store: CandleStore
) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(f"{HEADER}\n{candle_line(0, 100)}\n", encoding="utf-8")
    dialog = ImportCsvDialog(store)
    qtbot.addWidget(dialog)
    assert dialog.load_file(path)
    assert dialog.import_button.isEnabled()

    dialog.column_combos["close"].setCurrentText("Open")

    assert dialog.mapping() is None
    assert dialog.mapping_error.text() == "close: column 'Open' is already the open column"
    assert not dialog.import_button.isEnabled()
    dialog.column_combos["close"].setCurrentText("Close")
    assert dialog.mapping_error.text() == ""
    assert dialog.import_button.isEnabled()

    dialog.symbol_edit.clear()
    assert not dialog.import_button.isEnabled()


def test_the_import_dialog_says_why_a_file_cannot_be_previewed(
    qtbot: QtBot, tmp_path: Path, store: CandleStore
) -> None:
    path = tmp_path / "headless.csv"
    path.write_text(f"{candle_line(0, 100)}\n", encoding="utf-8")
    dialog = ImportCsvDialog(store)
    qtbot.addWidget(dialog)

    assert not dialog.load_file(path)

    assert dialog.status_label.text().startswith(f"{path}: line 1 ('{candle_line(0, 100)}') looks like data")
    assert dialog.preview_model.rowCount() == 0
    assert not dialog.import_button.isEnabled()


# ---------------------------------------------------------------------------------------------------------------
# Stored data


def test_the_stored_data_dialog_lists_exports_and_deletes_series(
    qtbot: QtBot, qloop: qasync.QEventLoop, tmp_path: Path, store: CandleStore
) -> None:
    store.write("csv", "BTCUSDT", "1m", candles([0, 1, 4], [100, 101, 104]), covered=(T0, T0 + 5 * MINUTE))
    hourly = candles([0], [200])
    store.write("demo", "ETHUSDT", "1h", hourly, covered=(T0, T0 + 60 * MINUTE))
    dialog = open_stored_data(store, qtbot, qloop)

    assert table_texts(dialog) == [
        ["csv", "BTCUSDT", "1m", "2024-01-01 00:00", "2024-01-01 00:04", "3", "1"],
        ["demo", "ETHUSDT", "1h", "2024-01-01 00:00", "2024-01-01 00:00", "1", "0"],
    ]
    assert dialog.table_model.index(0, 6).data(Qt.ItemDataRole.ToolTipRole) == (
        "Ranges the exchange had no candles for (UTC):\n2024-01-01 00:02 → 2024-01-01 00:04 (2 candles)"
    )
    assert dialog.table_model.index(1, 6).data(Qt.ItemDataRole.ToolTipRole) == "No gaps"
    assert not dialog.delete_button.isEnabled()
    assert not dialog.export_button.isEnabled()
    dialog.table.selectRow(0)
    assert dialog.delete_button.isEnabled()
    assert dialog.export_button.isEnabled()
    shot(dialog, "stored_data_dialog.png")

    target = tmp_path / "export" / "btc.csv"
    export = dialog.export(dialog.selected_series()[0], target)
    assert export is not None
    qloop.run_until_complete(export)
    assert dialog.status_label.text() == f"Exported 3 candles to {target}."
    assert target.read_text(encoding="utf-8").splitlines() == [
        "timestamp,open,high,low,close,volume",
        f"{T0},100.0,102.0,99.0,101.0,5.0",
        f"{T0 + MINUTE},101.0,103.0,100.0,102.0,5.0",
        f"{T0 + 4 * MINUTE},104.0,106.0,103.0,105.0,5.0",
    ]

    async def delete_confirmed() -> None:
        qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
        box = dialog.confirm_delete_box
        assert box is not None
        assert box.text() == (
            "Delete the 3 candles of csv · BTCUSDT · 1m from the candle store? "
            "A backtest will download them again when it needs them."
        )
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
        assert dialog.task is not None
        await dialog.task

    qloop.run_until_complete(delete_confirmed())

    assert dialog.status_label.text() == "Deleted 3 candles."
    assert table_texts(dialog) == [["demo", "ETHUSDT", "1h", "2024-01-01 00:00", "2024-01-01 00:00", "1", "0"]]
    assert [(series.exchange, series.symbol) for series in store.series()] == [("demo", "ETHUSDT")]
    assert not dialog.delete_button.isEnabled()


def test_the_stored_data_dialog_says_when_the_store_is_empty(
    qtbot: QtBot, qloop: qasync.QEventLoop, store: CandleStore
) -> None:
    dialog = open_stored_data(store, qtbot, qloop)
    assert dialog.table_model.rowCount() == 0
    assert dialog.empty_label.isVisible()
    assert not dialog.table.isVisible()


# ---------------------------------------------------------------------------------------------------------------
# Download


@pytest.fixture
def fake_exchange(server: FakeBinance, store: CandleStore, qloop: qasync.QEventLoop) -> Iterator[str]:
    source = fake_binance(server, store)
    yield "fake"
    qloop.run_until_complete(source.aclose())


def row_state(dialog: DownloadHistoryDialog, symbol: str) -> tuple[str, int, int, str]:
    row = dialog.rows[symbol]
    return row.bar.text(), row.bar.value(), row.bar.maximum(), row.state_label.text()


def test_the_download_dialog_shows_progress_cancels_and_resumes(
    qtbot: QtBot, qloop: qasync.QEventLoop, store: CandleStore, server: FakeBinance, fake_exchange: str
) -> None:
    dialog = DownloadHistoryDialog(store, [fake_exchange])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.form.set_values(
        {
            "symbols": "BTC/USDT, DOGE/USDT, ETH/USDT, BTC/USDT",
            "interval": "1m",
            "start": datetime(2024, 1, 1, tzinfo=UTC),
            "end": datetime(2024, 1, 2, 17, 40, tzinfo=UTC),  # 2500 minutes
        }
    )
    request = dialog.request()
    assert isinstance(request, ws.DownloadRequest)
    assert request.symbol_list() == ["BTC/USDT", "DOGE/USDT", "ETH/USDT"]
    assert (request.exchange_name, request.start_ms, request.end_ms) == ("fake", T0, T0 + 2500 * MINUTE)
    reports: list[DownloadProgress] = []

    def on_progress(report: DownloadProgress) -> None:
        reports.append(report)
        if report.fetched_candles == 1000 and len(reports) == 2:
            qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)

    dialog.progress_reported.connect(on_progress)

    async def download_clicked() -> None:
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
        task = dialog.download_task
        assert task is not None
        assert dialog.cancel_button.isEnabled()
        assert not dialog.download_button.isEnabled()
        await asyncio.gather(task, return_exceptions=True)

    qloop.run_until_complete(download_clicked())

    assert [(report.symbol, report.fetched_candles, report.done) for report in reports] == [
        ("BTC/USDT", 0, False),
        ("BTC/USDT", 1000, False),
    ]
    assert list(dialog.rows) == ["BTC/USDT", "DOGE/USDT", "ETH/USDT"]
    assert row_state(dialog, "BTC/USDT") == ("1,000 / 2,500 candles", 1000, 2500, "Cancelled")
    assert row_state(dialog, "DOGE/USDT")[3] == "Not started"
    assert row_state(dialog, "ETH/USDT")[3] == "Not started"
    assert dialog.status_label.text() == "Cancelled. What was downloaded is kept: Download again to resume."
    assert dialog.download_task is None
    assert dialog.download_button.isEnabled()
    assert not dialog.cancel_button.isEnabled()
    assert store.missing("fake", "BTC/USDT", "1m", T0, T0 + 2500 * MINUTE) == [(T0 + 1000 * MINUTE, T0 + 2500 * MINUTE)]
    assert server.count(KLINES) == 1

    reports.clear()
    qloop.run_until_complete(download_clicked())

    # The resumed download starts at what is stored; the unknown market fails on its own row only.
    assert [(report.symbol, report.fetched_candles, report.done) for report in reports] == [
        ("BTC/USDT", 1000, False),
        ("BTC/USDT", 1999, False),
        ("BTC/USDT", 2500, False),
        ("BTC/USDT", 2500, True),
        ("DOGE/USDT", 0, False),
        ("ETH/USDT", 0, False),
        ("ETH/USDT", 1000, False),
        ("ETH/USDT", 1999, False),
        ("ETH/USDT", 2500, False),
        ("ETH/USDT", 2500, True),
    ]
    assert row_state(dialog, "BTC/USDT") == ("2,500 / 2,500 candles", 2500, 2500, "Done")
    assert row_state(dialog, "ETH/USDT") == ("2,500 / 2,500 candles", 2500, 2500, "Done")
    doge = dialog.rows["DOGE/USDT"]
    assert doge.state_label.text() == "Failed"
    assert doge.error_label.text() == "DOGE/USDT: binance does not have market symbol DOGE/USDT"
    assert doge.error_label.isVisible()
    assert not dialog.rows["ETH/USDT"].error_label.isVisible()
    assert dialog.status_label.text() == "2 of 3 symbols downloaded; failed: DOGE/USDT"
    assert server.count(KLINES) == 1 + 2 + 3
    np.testing.assert_array_equal(store.read("fake", "BTC/USDT", "1m", T0, T0 + 2500 * MINUTE), server.candles)
    shot(dialog, "download_history_dialog.png")


def test_the_download_form_names_what_is_wrong(qtbot: QtBot, store: CandleStore) -> None:
    dialog = DownloadHistoryDialog(store, ["fake"])
    qtbot.addWidget(dialog)
    assert dialog.download_button.isEnabled()

    dialog.form.set_values(
        {"symbols": " , ", "start": datetime(2024, 1, 2, tzinfo=UTC), "end": datetime(2024, 1, 1, tzinfo=UTC)}
    )

    assert dialog.request() is None
    assert dialog.form.error("symbols") == "enter at least one symbol, e.g. BTC/USDT"
    assert not dialog.download_button.isEnabled()
    assert dialog.start_download() is None

    dialog.form.set_values({"symbols": "BTC/USDT"})
    assert dialog.form.form_error.text() == "the end must be after the start"
    dialog.form.set_values({"end": datetime(2024, 1, 3, tzinfo=UTC)})
    assert dialog.download_button.isEnabled()


def test_the_download_dialog_without_a_ccxt_exchange_says_so(qtbot: QtBot, store: CandleStore) -> None:
    dialog = DownloadHistoryDialog(store, [])
    qtbot.addWidget(dialog)
    assert dialog.status_label.text() == "No exchange can download history yet: add a ccxt exchange first."
    assert not dialog.download_button.isEnabled()

    dialog.set_exchange_choices(["binance-spot", "kraken"])

    assert dialog.form.values()["exchange_name"] == "binance-spot"
    assert dialog.status_label.text() == ""
    assert dialog.download_button.isEnabled()
