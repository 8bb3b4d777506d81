"""The trade table of a run tab: batched model, numeric sorting, filters, CSV export, activation (pytest-qt)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QHeaderView
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.widgets import TradeFilterProxy, TradeTableModel, TradeTableView
from ui.widgets.trade_table import SORT_ROLE, TRADE_HEADERS, TradeColumn
from workstation.models.results import CloseReason
from workstation.models.signal import Position
from workstation.reports.backtest import closed_signal_cells

T0 = 1704067200000  # 2024-01-01T00:00:00Z
MINUTE = 60_000


def make_closed(
    signal_id: str,
    *,
    pnl: float,
    pending_at: int,
    close_timestamp: int,
    position: Position = "long",
    close_reason: CloseReason = "take_profit",
    close_price: float = 42420.0,
    take_profit: float = 42420.0,
    stop_loss: float = 41580.0,
    note: str = "",
    pnl_cost: float | None = None,
    fee_cost: float = 0.2,
    strategy_name: str = "one-shot",
) -> ws.ClosedResult:
    """A closed trade opened at 42000 on BTCUSDT; ``pnl_cost`` defaults to ``pnl`` (a 100-unit position)."""
    signal = ws.SignalRow(
        id=signal_id,
        position=position,
        note=note,
        price_open=42000.0,
        price_take_profit=take_profit,
        price_stop_loss=stop_loss,
        minute_estimated_time=1440,
        symbol="BTCUSDT",
        exchange_name="demo",
        strategy_name=strategy_name,
        frame_name="F",
        scheduled_at=pending_at,
        pending_at=pending_at,
        is_scheduled=False,
    )
    return ws.ClosedResult(
        symbol="BTCUSDT",
        strategy_name=strategy_name,
        exchange_name="demo",
        frame_name="F",
        backtest=True,
        timestamp=close_timestamp,
        current_price=close_price,
        signal=signal,
        close_reason=close_reason,
        close_timestamp=close_timestamp,
        pnl=ws.Pnl(
            pnl_percentage=pnl,
            pnl_cost=pnl if pnl_cost is None else pnl_cost,
            pnl_entries=100.0,
            price_open=42000.0,
            price_close=close_price,
            fee_cost=fee_cost,
        ),
    )


def four_trades() -> list[ws.ClosedResult]:
    """Four trades whose PnL sorts differently as text (+12.50 < +3.00 < -10.00 < -2.00) and as numbers."""
    return [
        make_closed("sig-1", pnl=3.0, pending_at=T0 + 10 * MINUTE, close_timestamp=T0 + 70 * MINUTE, note="breakout"),
        make_closed(
            "sig-2",
            pnl=-10.0,
            pending_at=T0 + 100 * MINUTE,
            close_timestamp=T0 + 130 * MINUTE + 30_000,  # 30.5 minutes round half up to 31
            position="short",
            close_reason="stop_loss",
            close_price=42500.0,
            take_profit=41000.0,
            stop_loss=42500.0,
        ),
        make_closed(
            "sig-3",
            pnl=-2.0,
            pending_at=T0 + 200 * MINUTE,
            close_timestamp=T0 + 1640 * MINUTE,
            close_reason="time_expired",
            close_price=41900.0,
        ),
        make_closed(
            "sig-4",
            pnl=12.5,
            pnl_cost=12.34,
            pending_at=T0 + 2000 * MINUTE,
            close_timestamp=T0 + 2045 * MINUTE,
            position="short",
            close_price=41000.0,
            take_profit=41000.0,
            stop_loss=42500.0,
            note="fade, then cover",
        ),
    ]


ROW_TEXTS = [
    ["1", "sig-1", "LONG", "2024-01-01 00:10", "2024-01-01 01:10", "60", "42000.00000000", "42420.00000000",
     "42420.00000000", "41580.00000000", "+3.00", "+3.00", "take_profit",
     "0", "42000.00000000", "0", "0.00", "breakout"],
    ["2", "sig-2", "SHORT", "2024-01-01 01:40", "2024-01-01 02:10", "31", "42000.00000000", "42500.00000000",
     "41000.00000000", "42500.00000000", "-10.00", "-10.00", "stop_loss",
     "0", "42000.00000000", "0", "0.00", ""],
    ["3", "sig-3", "LONG", "2024-01-01 03:20", "2024-01-02 03:20", "1440", "42000.00000000", "41900.00000000",
     "42420.00000000", "41580.00000000", "-2.00", "-2.00", "time_expired",
     "0", "42000.00000000", "0", "0.00", ""],
    ["4", "sig-4", "SHORT", "2024-01-02 09:20", "2024-01-02 10:05", "45", "42000.00000000", "41000.00000000",
     "41000.00000000", "42500.00000000", "+12.50", "+12.34", "take_profit",
     "0", "42000.00000000", "0", "0.00", "fade, then cover"],
]  # fmt: skip


def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``$UI_SHOTS`` (e.g. /tmp/ui_shots, to look at them) or else the test's tmp_path."""
    folder = Path(os.environ.get("UI_SHOTS", str(tmp_path)))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return screenshot_dir(tmp_path)


def column_texts(view: TradeTableView, column: int) -> list[str]:
    return [row[column] for row in view.visible_rows()]


@pytest.fixture
def view(qtbot: QtBot) -> TradeTableView:
    widget = TradeTableView()
    qtbot.addWidget(widget)
    widget.resize(1500, 320)
    widget.show()
    qtbot.waitExposed(widget)
    widget.append(four_trades())
    return widget


def test_each_trade_reads_as_in_the_report(view: TradeTableView) -> None:
    assert [view.model.headerData(c, Qt.Orientation.Horizontal) for c in range(18)] == list(TRADE_HEADERS)
    assert view.visible_rows() == ROW_TEXTS
    # The report's cells of the same trade: prices without " USD", PnL % without "%", same duration and side.
    for result, row in zip(four_trades(), ROW_TEXTS, strict=True):
        report = closed_signal_cells(result)
        assert [row[1], row[2], row[17], row[10] + "%", row[12], row[5]] == [
            report[0], report[2], report[3], report[8], report[9], report[10]
        ]  # fmt: skip
        assert [price + " USD" for price in row[6:10]] == report[4:8]
        assert [row[3], row[4]] == [report[11][:16].replace("T", " "), report[12][:16].replace("T", " ")]


def test_numbers_are_right_aligned_and_pnl_is_coloured_by_sign(view: TradeTableView) -> None:
    model = view.model

    def colour(row: int, column: int) -> str | None:
        brush = model.data(model.index(row, column), Qt.ItemDataRole.ForegroundRole)
        return None if brush is None else QColor(brush.color()).name()

    assert [colour(row, TradeColumn.PNL_PERCENT) for row in range(4)] == ["#17713a", "#b02a20", "#b02a20", "#17713a"]
    assert colour(1, TradeColumn.PNL_MONEY) == "#b02a20"
    assert colour(0, TradeColumn.OPEN_PRICE) is None
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    alignment = [model.data(model.index(0, column), Qt.ItemDataRole.TextAlignmentRole) for column in range(18)]
    assert alignment == [right, left, left, left, left] + [right] * 7 + [left] + [right] * 4 + [left]


def test_a_batch_is_inserted_with_one_row_insertion(qtbot: QtBot) -> None:
    model = TradeTableModel()
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    trades = four_trades()
    model.append(trades[:3])
    model.append([])
    model.append(trades[3:])
    assert inserted == [(0, 2), (3, 3)]
    assert [model.result_at(row).signal.id for row in range(model.rowCount())] == ["sig-1", "sig-2", "sig-3", "sig-4"]


def test_staged_trades_are_numbered_on_arrival_and_shown_at_the_commit_in_one_insertion(qtbot: QtBot) -> None:
    model = TradeTableModel()
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    trades = four_trades()
    model.append(trades[:1])
    model.stage(trades[1:2])
    model.stage(trades[2:])
    assert (model.rowCount(), inserted) == (1, [(0, 0)])
    model.commit()
    model.commit()
    assert inserted == [(0, 0), (1, 3)]
    assert [model.data(model.index(row, TradeColumn.NUMBER)) for row in range(4)] == ["1", "2", "3", "4"]
    model.stage(trades[:1])
    model.clear()
    model.commit()
    assert model.rowCount() == 0


def test_number_order_keeps_trades_in_arrival_order_after_sorting_by_another_column(view: TradeTableView) -> None:
    view.table.sortByColumn(TradeColumn.NUMBER, Qt.SortOrder.DescendingOrder)
    assert column_texts(view, TradeColumn.NUMBER) == ["4", "3", "2", "1"]
    view.table.sortByColumn(TradeColumn.PNL_PERCENT, Qt.SortOrder.AscendingOrder)
    view.table.sortByColumn(TradeColumn.NUMBER, Qt.SortOrder.AscendingOrder)
    view.append([make_closed("sig-5", pnl=-50.0, pending_at=T0, close_timestamp=T0 + 5 * MINUTE)])
    assert column_texts(view, TradeColumn.NUMBER) == ["1", "2", "3", "4", "5"]
    assert view.table.horizontalHeader().sortIndicatorSection() == TradeColumn.NUMBER


def test_five_thousand_trades_in_batches_of_a_hundred_update_the_view_once_per_batch(view: TradeTableView) -> None:
    view.clear()
    inserted: list[tuple[int, int]] = []
    view.model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    for batch in range(50):
        view.append(
            [
                make_closed(f"b{batch}-{i}", pnl=(i % 7) - 3.0, pending_at=T0, close_timestamp=T0 + (i + 1) * MINUTE)
                for i in range(100)
            ]
        )
    assert inserted == [(first, first + 99) for first in range(0, 5000, 100)]
    assert view.proxy.rowCount() == 5000
    assert view.count_label.text() == "5000 trades"
    # No column measures its contents: that would walk every row on every batch.
    header = view.table.horizontalHeader()
    modes = {header.sectionResizeMode(column) for column in range(header.count())}
    assert modes == {QHeaderView.ResizeMode.Interactive}


def test_sorting_by_pnl_is_numeric(view: TradeTableView) -> None:
    view.table.sortByColumn(TradeColumn.PNL_PERCENT, Qt.SortOrder.AscendingOrder)
    assert column_texts(view, TradeColumn.PNL_PERCENT) == ["-10.00", "-2.00", "+3.00", "+12.50"]
    view.table.sortByColumn(TradeColumn.PNL_PERCENT, Qt.SortOrder.DescendingOrder)
    assert column_texts(view, TradeColumn.PNL_PERCENT) == ["+12.50", "+3.00", "-2.00", "-10.00"]
    view.table.sortByColumn(TradeColumn.DURATION, Qt.SortOrder.AscendingOrder)
    assert column_texts(view, TradeColumn.DURATION) == ["31", "45", "60", "1440"]
    assert view.model.data(view.model.index(1, TradeColumn.CLOSE_TIME), SORT_ROLE) == T0 + 130 * MINUTE + 30_000


def test_trades_arriving_while_sorted_take_their_sorted_place(view: TradeTableView) -> None:
    view.table.sortByColumn(TradeColumn.PNL_PERCENT, Qt.SortOrder.AscendingOrder)
    view.append([make_closed("sig-5", pnl=0.0, pending_at=T0, close_timestamp=T0 + 5 * MINUTE)])
    assert column_texts(view, TradeColumn.SIGNAL_ID) == ["sig-2", "sig-3", "sig-5", "sig-1", "sig-4"]
    assert column_texts(view, TradeColumn.PNL_PERCENT)[2] == "0.00"


def test_filters_by_close_reason_and_side(view: TradeTableView) -> None:
    assert [view.close_reason_filter.itemText(i) for i in range(view.close_reason_filter.count())] == [
        "Any close reason", "take_profit", "stop_loss", "time_expired", "closed", "liquidation"
    ]  # fmt: skip
    assert [view.side_filter.itemText(i) for i in range(3)] == ["Any side", "LONG", "SHORT"]
    view.close_reason_filter.setCurrentIndex(1)
    assert column_texts(view, TradeColumn.SIGNAL_ID) == ["sig-1", "sig-4"]
    assert view.count_label.text() == "2 of 4 trades"
    view.side_filter.setCurrentIndex(2)
    assert column_texts(view, TradeColumn.SIGNAL_ID) == ["sig-4"]
    view.close_reason_filter.setCurrentIndex(0)
    assert column_texts(view, TradeColumn.SIGNAL_ID) == ["sig-2", "sig-4"]
    view.side_filter.setCurrentIndex(1)
    assert column_texts(view, TradeColumn.SIGNAL_ID) == ["sig-1", "sig-3"]
    assert view.count_label.text() == "2 of 4 trades"
    view.side_filter.setCurrentIndex(0)
    assert view.count_label.text() == "4 trades"


def test_the_proxy_filters_without_a_view() -> None:
    model = TradeTableModel()
    proxy = TradeFilterProxy(model)
    model.append(four_trades())
    proxy.set_close_reason("time_expired")
    assert [proxy.result_at(row).signal.id for row in range(proxy.rowCount())] == ["sig-3"]
    proxy.set_close_reason(None)
    proxy.set_side("short")
    assert [proxy.result_at(row).signal.id for row in range(proxy.rowCount())] == ["sig-2", "sig-4"]


def test_clear_empties_the_table(view: TradeTableView) -> None:
    view.clear()
    assert view.proxy.rowCount() == 0
    assert view.count_label.text() == "0 trades"
    view.append(four_trades()[:1])
    assert column_texts(view, TradeColumn.NUMBER) == ["1"]


def test_export_writes_the_visible_rows_in_their_order(view: TradeTableView, tmp_path: Path) -> None:
    view.side_filter.setCurrentIndex(2)
    view.table.sortByColumn(TradeColumn.PNL_PERCENT, Qt.SortOrder.DescendingOrder)
    errors: list[str] = []
    view.error_raised.connect(errors.append)
    target = tmp_path / "trades.csv"
    assert view.export_csv(target) is True
    assert target.read_bytes().decode("utf-8") == (
        "#,Signal ID,Side,Open time,Close time,Duration (min),Open price,Close price,TP,SL,PnL %,PnL,Close reason,"
        "Entries,Original open,Partials,Closed by partials %,Note\r\n"
        "4,sig-4,SHORT,2024-01-02 09:20,2024-01-02 10:05,45,42000.00000000,41000.00000000,41000.00000000,"
        '42500.00000000,+12.50,+12.34,take_profit,0,42000.00000000,0,0.00,"fade, then cover"\r\n'
        "2,sig-2,SHORT,2024-01-01 01:40,2024-01-01 02:10,31,42000.00000000,42500.00000000,41000.00000000,"
        "42500.00000000,-10.00,-10.00,stop_loss,0,42000.00000000,0,0.00,\r\n"
    )
    assert errors == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["trades.csv"]


def test_export_replaces_an_existing_file(view: TradeTableView, tmp_path: Path) -> None:
    target = tmp_path / "trades.csv"
    target.write_text("old content", encoding="utf-8")
    view.close_reason_filter.setCurrentIndex(3)
    assert view.export_csv(str(target)) is True
    assert target.read_text(encoding="utf-8").splitlines()[1].startswith("3,sig-3,LONG,")
    assert len(target.read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_an_unwritable_path_is_reported_and_leaves_no_file(view: TradeTableView, tmp_path: Path, where: str) -> None:
    target = tmp_path / "missing" / "trades.csv" if where == "missing folder" else tmp_path / "taken"
    if where == "a folder":
        target.mkdir()
    before = sorted(os.listdir(tmp_path))
    errors: list[str] = []
    view.error_raised.connect(errors.append)
    assert view.export_csv(target) is False
    assert len(errors) == 1
    assert errors[0].startswith(f"Could not export the trades to {target}: ")
    assert sorted(os.listdir(tmp_path)) == before
    assert not (tmp_path / "missing").exists()
    if where == "a folder":
        assert os.listdir(target) == []


def test_export_button_writes_the_file_chosen_in_the_dialog(view: TradeTableView, qtbot: QtBot, tmp_path: Path) -> None:
    qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
    dialogs = view.findChildren(QFileDialog)
    assert len(dialogs) == 1
    assert dialogs[0].acceptMode() == QFileDialog.AcceptMode.AcceptSave
    dialogs[0].fileSelected.emit(str(tmp_path / "chosen.csv"))
    dialogs[0].close()
    assert (tmp_path / "chosen.csv").read_text(encoding="utf-8").count("\n") == 5


def test_clicking_a_row_activates_its_trade(view: TradeTableView, qtbot: QtBot) -> None:
    view.table.sortByColumn(TradeColumn.PNL_PERCENT, Qt.SortOrder.AscendingOrder)  # the proxy order is not the model's
    index = view.proxy.index(2, TradeColumn.SIDE)
    with qtbot.waitSignal(view.trade_activated) as activated:
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=view.table.visualRect(index).center())
    assert activated.args == [four_trades()[0]]
    assert view.table.selectionModel().selectedRows() == [view.proxy.index(2, 0)]


def test_enter_on_a_row_activates_its_trade(view: TradeTableView, qtbot: QtBot) -> None:
    view.side_filter.setCurrentIndex(2)
    view.table.setFocus()
    view.table.setCurrentIndex(view.proxy.index(1, 0))
    with qtbot.waitSignal(view.trade_activated) as activated:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert isinstance(activated.args[0], ws.ClosedResult)
    assert activated.args[0].signal.id == "sig-4"


def test_enter_without_a_current_row_activates_nothing(qtbot: QtBot) -> None:
    empty = TradeTableView()
    qtbot.addWidget(empty)
    with qtbot.assertNotEmitted(empty.trade_activated):
        qtbot.keyClick(empty.table, Qt.Key.Key_Return)
    assert empty.table.currentIndex() == QModelIndex()


def test_ctrl_c_copies_the_selected_rows_as_tsv(view: TradeTableView, qtbot: QtBot) -> None:
    view.table.selectRow(0)
    view.table.selectionModel().select(
        view.proxy.index(3, 0),
        view.table.selectionModel().SelectionFlag.Select | view.table.selectionModel().SelectionFlag.Rows,
    )
    qtbot.keyClick(view.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "\t".join(ROW_TEXTS[0]) + "\n" + "\t".join(ROW_TEXTS[3]) + "\n"


def test_screenshot_shows_green_and_red_pnl(view: TradeTableView, shots: Path) -> None:
    view.append(
        [
            make_closed(
                f"sig-{n}",
                pnl=(-1.5 if n % 3 == 0 else 2.25),
                pending_at=T0 + n * 3000 * MINUTE,
                close_timestamp=T0 + n * 3000 * MINUTE + 95 * MINUTE,
                position="short" if n % 2 else "long",
                close_reason="stop_loss" if n % 3 == 0 else "take_profit",
            )
            for n in range(5, 12)
        ]
    )
    view.table.sortByColumn(TradeColumn.PNL_PERCENT, Qt.SortOrder.AscendingOrder)
    image = view.grab().toImage()
    image.save(str(shots / "trade_table.png"))
    offset = view.table.viewport().mapTo(view, view.table.viewport().rect().topLeft())

    def pixels(row: int) -> set[str]:
        rect = view.table.visualRect(view.proxy.index(row, TradeColumn.PNL_PERCENT)).translated(offset)
        return {
            QColor(image.pixel(x, y)).name()
            for x in range(rect.left(), rect.right())
            for y in range(rect.top(), rect.bottom())
        }

    assert "#b02a20" in pixels(0)
    assert "#17713a" in pixels(view.proxy.rowCount() - 1)
    # Every column shows its widest usual text without eliding it.
    header = view.table.horizontalHeader()
    metrics = view.table.fontMetrics()
    for column in (TradeColumn.OPEN_TIME, TradeColumn.OPEN_PRICE, TradeColumn.CLOSE_REASON, TradeColumn.PNL_MONEY):
        text = view.proxy.index(0, column).data()
        assert header.sectionSize(column) > metrics.horizontalAdvance(text) + 8
