"""The backtest form's account: a starting balance and a sizing chosen among its methods, refused values named."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QLineEdit
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.backtest.form import BacktestForm


@pytest.fixture
def form(qtbot: QtBot, tmp_path: Path) -> BacktestForm:
    settings = QSettings(str(tmp_path / "workstation.ini"), QSettings.Format.IniFormat)
    form = BacktestForm(settings=settings)
    qtbot.addWidget(form)
    form.resize(420, 900)
    form.show()
    return form


def sizing_choice(form: BacktestForm) -> QComboBox:
    choice = form.form.editors["sizing"].widget.findChild(QComboBox, "method_choice")
    assert isinstance(choice, QComboBox)
    return choice


def percent_line(form: BacktestForm) -> QLineEdit:
    """The percent field of the sizing method shown now."""
    lines = [
        line for line in form.form.editors["sizing"].widget.findChildren(QLineEdit, "percent") if line.isVisibleTo(form)
    ]
    assert len(lines) == 1
    return lines[0]


def test_the_form_starts_at_10000_with_fixed_cost(form: BacktestForm) -> None:
    request = form.request()
    assert request is not None
    assert request.starting_balance == 10_000.0
    assert request.sizing == ws.FixedCostSizing()
    assert sizing_choice(form).currentText() == "fixed cost"


def test_choosing_risk_asks_for_its_percent_and_runs_with_it(form: BacktestForm) -> None:
    sizing_choice(form).setCurrentText("risk")
    percent_line(form).setText("2.5")
    form.form.editors["starting_balance"].widget.setText("5000")  # type: ignore[attr-defined]
    request = form.request()
    assert request is not None
    assert request.sizing == ws.RiskSizing(percent=2.5)
    assert request.starting_balance == 5000.0


def test_refused_values_are_named_next_to_their_field(form: BacktestForm) -> None:
    sizing_choice(form).setCurrentText("equity share")
    percent_line(form).setText("150")
    form.form.editors["starting_balance"].widget.setText("-3")  # type: ignore[attr-defined]
    assert form.request() is None
    assert not form.run_button.isEnabled()
    assert form.form.error("starting_balance") == "Input should be greater than 0"
    share = form.form.editors["sizing"]
    sub_forms = [child for child in share.widget.children() if hasattr(child, "error") and child.isVisible()]
    assert [sub.error("percent") for sub in sub_forms] == ["Input should be less than or equal to 100"]


def test_the_sizing_is_remembered(qtbot: QtBot, tmp_path: Path, form: BacktestForm) -> None:
    sizing_choice(form).setCurrentText("equity share")
    percent_line(form).setText("25")
    again = BacktestForm(settings=form.settings)
    qtbot.addWidget(again)
    request = again.request()
    assert request is not None
    assert request.sizing == ws.EquityShareSizing(percent=25.0)
