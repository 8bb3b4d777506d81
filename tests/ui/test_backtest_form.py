"""The backtest form: every invalid field says why next to itself and disables Run; presets; remembered values."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from form_helpers import field_widget
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.app import demo_request
from ui.backtest.form import BacktestForm
from ui.forms import SchemaForm

SHOTS = Path("/tmp/ui_shots")
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 3, 31, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "workstation.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_form(qtbot: QtBot, settings: QSettings) -> Callable[[], BacktestForm]:
    def make() -> BacktestForm:
        form = BacktestForm(settings=settings)
        qtbot.addWidget(form)
        form.resize(420, 760)
        form.show()
        return form

    return make


def line(form: BacktestForm, name: str) -> QLineEdit:
    return field_widget(form.form, name, QLineEdit)


def combo(form: BacktestForm, name: str) -> QComboBox:
    return field_widget(form.form, name, QComboBox)


def params_form(form: BacktestForm) -> SchemaForm:
    """Return the sub-form of the chosen strategy's parameters."""
    params = form.form.sub_form("params")
    assert params is not None
    return params


def choose_strategy(form: BacktestForm, strategy_name: str) -> SchemaForm:
    """Choose ``strategy_name`` in ``form``; return the sub-form of its parameters, checked to be its own."""
    combo(form, "strategy_name").setCurrentText(strategy_name)
    params = params_form(form)
    assert params.model is ws.strategy_params_model(strategy_name)
    return params


def param_spin(form: BacktestForm, name: str) -> QSpinBox:
    return field_widget(params_form(form), name, QSpinBox)


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda form: line(form, "symbol").setText("  "), "symbol", "symbol must not be empty"),
        (
            lambda form: form.form.set_values({"end": datetime(2023, 12, 1, tzinfo=UTC)}),
            "end",
            "end must be after start (2024-01-01 00:00 UTC), got 2023-12-01 00:00 UTC",
        ),
        (
            lambda form: line(form, "percent_fee").setText("-0.5"),
            "percent_fee",
            "Input should be greater than or equal to 0",
        ),
        (lambda form: line(form, "percent_fee").setText("abc"), "percent_fee", "Input should be a valid number"),
        (
            lambda form: combo(form, "exchange_name").setCurrentText("nope"),
            "exchange_name",
            'exchange "nope" not found; known: "demo"',
        ),
        (
            lambda form: line(form, "percent_slippage").setText("-1"),
            "percent_slippage",
            "Input should be greater than or equal to 0",
        ),
        (
            lambda form: line(form, "percent_fee").setText("150"),
            "percent_fee",
            "Input should be less than or equal to 10",
        ),
        (
            lambda form: line(form, "position_entry_cost").setText("0"),
            "position_entry_cost",
            "Input should be greater than or equal to 0.01",
        ),
        (
            lambda form: combo(form, "strategy_name").setCurrentText("nope"),
            "strategy_name",
            'strategy "nope" not found; known: "sma-cross-market", "sma-cross-limit", "rsi-reversion", "breakout", '
            '"managed-sma", "managed-sma-limit"',
        ),
    ],
)
def test_an_invalid_field_says_why_and_disables_run(
    make_form: Callable[[], BacktestForm], edit: Callable[[BacktestForm], Any], field: str, message: str
) -> None:
    form = make_form()
    form.form.set_values({"start": START, "end": END})
    assert form.run_button.isEnabled()

    edit(form)

    assert form.form.error(field) == message
    assert form.form.error_labels[field].isVisibleTo(form)
    assert [name for name, label in form.form.error_labels.items() if label.text()] == [field]
    assert not form.run_button.isEnabled()
    assert form.request() is None


def test_an_invalid_strategy_param_says_why_in_the_sub_form(make_form: Callable[[], BacktestForm]) -> None:
    form = make_form()
    form.form.set_values({"start": START, "end": END})
    param_spin(form, "fast").setValue(50)

    params = params_form(form)
    assert params.error("slow") == "slow must be above fast, got fast=50, slow=50"
    assert params.error_labels["slow"].isVisibleTo(form)
    assert not form.run_button.isEnabled()
    SHOTS.mkdir(exist_ok=True)
    line(form, "symbol").setText("")
    line(form, "percent_fee").setText("abc")
    assert form.grab().save(str(SHOTS / "backtest_form_invalid.png"))

    param_spin(form, "slow").setValue(80)
    line(form, "symbol").setText("BTCUSDT")
    line(form, "percent_fee").setText("0.1")
    assert form.run_button.isEnabled()


def test_the_strategy_s_params_form_follows_the_strategy(make_form: Callable[[], BacktestForm]) -> None:
    form = make_form()
    params = choose_strategy(form, "rsi-reversion")
    assert params.labels["period"].text() == "RSI period"
    ws.add_strategy(ws.StrategySchema(strategy_name="mine", interval="1h", get_signal=lambda symbol, when: None))
    form.refresh_choices()
    combo(form, "strategy_name").setCurrentText("mine")
    assert form.form.sub_form("params") is None
    assert form.form.values()["params"] == {}
    assert combo(form, "strategy_name").itemText(0) == "mine"


def test_run_emits_the_exact_request(qtbot: QtBot, make_form: Callable[[], BacktestForm]) -> None:
    form = make_form()
    form.form.set_values({"start": START, "end": END, "symbol": "ETHUSDT", "percent_fee": 0.075})
    param_spin(form, "fast").setValue(10)
    param_spin(form, "slow").setValue(30)
    line(form, "percent_slippage").setText("0.05")
    assert form.run_button.isEnabled()
    assert form.grab().save(str(SHOTS / "backtest_form.png"))

    with qtbot.waitSignal(form.run_requested, timeout=1000) as emitted:
        qtbot.mouseClick(form.run_button, Qt.MouseButton.LeftButton)

    model = ws.strategy_params_model("sma-cross-market")
    assert model is not None
    defaults = model().model_dump()
    assert emitted.args == [
        ws.BacktestRequest(
            exchange_name="demo",
            symbol="ETHUSDT",
            strategy_name="sma-cross-market",
            start=START,
            end=END,
            percent_fee=0.075,
            percent_slippage=0.05,
            position_entry_cost=100.0,
            params={**defaults, "fast": 10, "slow": 30},
        )
    ]


def test_a_request_shown_in_the_form_is_what_run_repeats(qtbot: QtBot, make_form: Callable[[], BacktestForm]) -> None:
    form = make_form()
    model = ws.strategy_params_model("rsi-reversion")
    assert model is not None
    tuned = {"seed": 7, "percent_fee": 0.05, "params": model().model_dump() | {"period": 21}}
    week = demo_request(7, start=START, symbol="ETHUSDT", strategy_name="rsi-reversion")
    shown = ws.BacktestRequest.model_validate(week.model_dump() | tuned)
    form.show_request(shown)
    with qtbot.waitSignal(form.run_requested, timeout=1000) as emitted:
        qtbot.mouseClick(form.run_button, Qt.MouseButton.LeftButton)
    assert emitted.args == [shown]


@pytest.mark.parametrize(
    ("preset", "start"),
    [
        ("1D", datetime(2024, 3, 30, tzinfo=UTC)),  # a period ending within a day starts at the midnight before
        ("1W", datetime(2024, 3, 24, tzinfo=UTC)),
        ("1M", datetime(2024, 2, 29, tzinfo=UTC)),  # March 31 → the last day of February (leap year)
        ("3M", datetime(2023, 12, 31, tzinfo=UTC)),
        ("1Y", datetime(2023, 3, 31, tzinfo=UTC)),
        ("YTD", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_presets_set_exact_starts(make_form: Callable[[], BacktestForm], preset: str, start: datetime) -> None:
    form = make_form()
    end = datetime(2024, 3, 31, 12, 30, tzinfo=UTC)
    form.form.set_values({"end": end})
    form.preset_buttons[preset].click()
    assert (form.form.values()["start"], form.form.values()["end"]) == (start, end)


def test_last_values_are_restored_in_a_new_form(make_form: Callable[[], BacktestForm]) -> None:
    first = make_form()
    first.form.set_values({"start": START, "end": END, "symbol": "SOLUSDT", "strategy_name": "breakout"})
    param_spin(first, "lookback").setValue(55)
    line(first, "percent_fee").setText("0.04")
    expected = first.request()
    assert expected is not None

    second = make_form()

    assert second.request() == expected
    assert expected.params["lookback"] == 55
    assert second.run_button.isEnabled()


def test_damaged_remembered_values_lose_only_their_own_fields(settings: QSettings, qtbot: QtBot) -> None:
    """A settings file edited by hand or written by an older version: the form still opens; what can be applied
    is, what cannot is dropped, and what is applied but invalid says why next to its field."""
    settings.setValue(
        "backtest_form/values",
        json.dumps({"symbol": "ETHUSDT", "start": "yesterday", "params": [1], "percent_fee": "x", "nope": 1}),
    )
    form = BacktestForm(settings=settings)
    qtbot.addWidget(form)

    assert line(form, "symbol").text() == "ETHUSDT"
    assert form.form.error("percent_fee") == "Input should be a valid number"
    assert not form.run_button.isEnabled()


def test_a_browsed_candle_file_gets_an_exchange_name_of_its_own(
    make_form: Callable[[], BacktestForm], tmp_path: Path
) -> None:
    candle_file = tmp_path / "btc_march.csv"
    candle_file.write_text("timestamp,open,high,low,close,volume\n1709251200000,1,2,0.5,1.5,10\n")
    form = make_form()
    form.form.set_values({"start": START, "end": END})
    assert form.form.values()["exchange_name"] == "demo"

    form.choose_candle_file(str(candle_file))

    request = form.request()
    assert request is not None
    assert (request.exchange_name, request.candle_file) == ("csv-btc_march", str(candle_file))
    assert form.browse_button.isVisibleTo(form)


def test_a_candle_file_needs_a_name_other_than_the_demo(make_form: Callable[[], BacktestForm], tmp_path: Path) -> None:
    candle_file = tmp_path / "eth.csv"
    candle_file.write_text("timestamp,open,high,low,close,volume\n")
    form = make_form()
    form.form.set_values({"start": START, "end": END, "candle_file": str(candle_file)})

    assert form.form.error("exchange_name") == '"demo" is not a candle file\'s exchange; name its candles, e.g. "csv"'
    assert not form.run_button.isEnabled()


def test_a_preparation_error_shows_next_to_its_field_until_the_next_edit(
    make_form: Callable[[], BacktestForm],
) -> None:
    form = make_form()
    form.form.set_values({"start": START, "end": END})
    reason = "2024-01-01 00:00 UTC is too early for the demo exchange; the first usable start is 2024-01-01 00:05 UTC"

    assert form.show_preparation_error(ws.PreparationError("start", reason))

    assert form.form.error("start") == reason
    assert form.form.error_labels["start"].isVisibleTo(form)
    assert form.run_button.isEnabled()  # the request itself is valid: the trader may change the start and run
    line(form, "symbol").setText("ETHUSDT")
    assert form.form.error("start") == ""
    assert not form.show_preparation_error(ws.PreparationError("walker", "not a field of the form"))


def test_the_managed_strategy_offers_its_thresholds(make_form: Callable[[], BacktestForm]) -> None:
    form = make_form()
    params = choose_strategy(form, "managed-sma")
    assert params.labels["first_take_percent"].text() == "First partial take (%)"
    assert params.labels["pause_minutes"].text() == "Pause (minutes)"
    assert form.form.values()["params"]["trail_shift_per_step"] == -0.15


def test_a_strategy_with_many_parameters_scrolls_and_keeps_run_in_sight(
    make_form: Callable[[], BacktestForm], qtbot: QtBot
) -> None:
    # managed-sma's 30 thresholds stretched the dock, and the window with it, to 1,896 px on a 1,000 px screen.
    form = make_form()
    form.resize(320, 700)
    form.show()
    qtbot.waitExposed(form)
    combo(form, "strategy_name").setCurrentText("managed-sma")
    qtbot.waitUntil(lambda: form.scroll_area.verticalScrollBar().maximum() > 0)
    assert form.minimumSizeHint().height() < 400
    run = form.run_button.geometry()
    assert run.bottom() < form.height()
    assert run.top() > form.scroll_area.geometry().bottom()
    assert form.scroll_area.horizontalScrollBar().maximum() == 0
    assert form.scroll_area.minimumSizeHint().width() > form.form.minimumSizeHint().width()
