"""Fault 12, the backtest form: typing into a date field works, and period presets start at 00:00."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from form_helpers import field_widget
from PySide6.QtCore import QDate, QSettings, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ui.backtest.form import BacktestForm
from ui.forms.date_time_field import DateTimeField


@pytest.fixture
def form(qtbot: QtBot, tmp_path: Path) -> BacktestForm:
    made = BacktestForm(settings=QSettings(str(tmp_path / "workstation.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(made)
    made.show()
    made.form.set_values({"start": datetime(2024, 1, 1, tzinfo=UTC), "end": datetime(2024, 1, 31, 23, 59, tzinfo=UTC)})
    return made


def date_field(form: BacktestForm, name: str) -> DateTimeField:
    return field_widget(form.form, name, DateTimeField)


def test_a_whole_date_typed_over_the_field_is_taken(form: BacktestForm, qtbot: QtBot) -> None:
    start = date_field(form, "start")
    start.line.selectAll()
    qtbot.keyClicks(start.line, "2024-01-15 09:30")
    request = form.request()
    assert request is not None
    assert request.start == datetime(2024, 1, 15, 9, 30, tzinfo=UTC)


def test_digits_typed_into_the_middle_overwrite_those_under_the_cursor(form: BacktestForm, qtbot: QtBot) -> None:
    start = date_field(form, "start")
    start.line.setCursorPosition(len("2024-01-0"))
    qtbot.keyClicks(start.line, "2")
    start.line.setCursorPosition(len("2024-01-02 "))
    qtbot.keyClicks(start.line, "1745")
    assert start.text() == "2024-01-02 17:45"
    assert form.form.values()["start"] == datetime(2024, 1, 2, 17, 45, tzinfo=UTC)


def test_digits_alone_fill_the_date_and_a_paste_is_taken(form: BacktestForm, qtbot: QtBot, qapp: QApplication) -> None:
    end = date_field(form, "end")
    end.line.selectAll()
    qtbot.keyClicks(end.line, "202401201200")
    assert form.form.values()["end"] == datetime(2024, 1, 20, 12, tzinfo=UTC)
    qapp.clipboard().setText("2024-01-25 08:00")
    end.line.selectAll()
    end.line.paste()
    assert form.form.values()["end"] == datetime(2024, 1, 25, 8, tzinfo=UTC)


def test_an_impossible_date_is_named_next_to_its_field_and_disables_run(form: BacktestForm, qtbot: QtBot) -> None:
    start = date_field(form, "start")
    start.line.selectAll()
    qtbot.keyClicks(start.line, "2024-13-01 00:00")
    assert form.request() is None
    assert not form.run_button.isEnabled()
    assert form.form.error_labels["start"].text() == (
        "Input should be a valid datetime or date, month value is outside expected range of 1-12"
    )
    start.line.setCursorPosition(len("2024-"))
    qtbot.keyClicks(start.line, "01")
    assert form.run_button.isEnabled()
    assert form.form.error_labels["start"].isHidden()


def test_the_calendar_sets_the_day_and_keeps_the_time(form: BacktestForm) -> None:
    start = date_field(form, "start")
    start.set_value(datetime(2024, 1, 1, 6, 15, tzinfo=UTC))
    start.pick_day(QDate(2024, 1, 10))
    assert form.form.values()["start"] == datetime(2024, 1, 10, 6, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("end", "preset", "start"),
    [
        (datetime(2024, 1, 31, 23, 59, tzinfo=UTC), "1M", datetime(2024, 1, 1, tzinfo=UTC)),
        (datetime(2024, 2, 1, tzinfo=UTC), "1M", datetime(2024, 1, 1, tzinfo=UTC)),
        (datetime(2024, 1, 31, 23, 59, tzinfo=UTC), "1D", datetime(2024, 1, 31, tzinfo=UTC)),
        (datetime(2024, 1, 31, 23, 59, tzinfo=UTC), "1W", datetime(2024, 1, 25, tzinfo=UTC)),
        (datetime(2024, 3, 31, 23, 59, tzinfo=UTC), "3M", datetime(2024, 1, 1, tzinfo=UTC)),
        (datetime(2024, 12, 31, 23, 59, tzinfo=UTC), "1Y", datetime(2024, 1, 1, tzinfo=UTC)),
        (datetime(2024, 6, 30, 14, 10, tzinfo=UTC), "1D", datetime(2024, 6, 29, tzinfo=UTC)),
    ],
)
def test_period_presets_start_at_midnight(form: BacktestForm, end: datetime, preset: str, start: datetime) -> None:
    form.form.set_values({"end": end})
    form.preset_buttons[preset].click()
    assert (form.form.values()["start"], form.form.values()["end"]) == (start, end)


def test_the_start_field_can_be_reached_and_typed_from_the_keyboard(form: BacktestForm, qtbot: QtBot) -> None:
    start = date_field(form, "start")
    start.setFocus()
    start.line.selectAll()
    qtbot.keyClicks(start.line, "2024-01-03 00:00")
    qtbot.keyClick(start.line, Qt.Key.Key_Tab)
    assert form.form.values()["start"] == datetime(2024, 1, 3, tzinfo=UTC)


# A popup under the offscreen platform: it cannot raise itself or grab the keyboard, and says so.
@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")
def test_the_calendar_opens_on_the_field_s_day(form: BacktestForm, qtbot: QtBot) -> None:
    start = date_field(form, "start")
    start.set_value(datetime(2024, 1, 7, 6, 15, tzinfo=UTC))
    qtbot.mouseClick(start.calendar_button, Qt.MouseButton.LeftButton)
    menu = start.calendar_menu
    qtbot.waitUntil(menu.isVisible)
    assert start.calendar is not None
    assert start.calendar.selectedDate() == QDate(2024, 1, 7)
    start.calendar.clicked.emit(QDate(2024, 1, 9))
    assert form.form.values()["start"] == datetime(2024, 1, 9, 6, 15, tzinfo=UTC)
    assert not menu.isVisible()
