"""The backtest form: a `ws.BacktestRequest` generated as a form, with period presets and a Run button.

The form remembers its last values in QSettings and restores them when it is built again, so the next session
starts from the last run's market, strategy, parameters and period.
"""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

import workstation as ws
from ui.forms import SchemaForm
from ui.widgets.form_scroll import FormScrollArea

#: Where the last values are kept in QSettings.
SETTINGS_KEY = "backtest_form/values"

#: Period presets: button text -> (what it means, calendar months, days) back from the end; None: from January 1.
PRESETS: dict[str, tuple[str, int, int] | None] = {
    "1D": ("1 day", 0, 1),
    "1W": ("1 week", 0, 7),
    "1M": ("1 month", 1, 0),
    "3M": ("3 months", 3, 0),
    "1Y": ("1 year", 12, 0),
    "YTD": None,
}


def months_before(moment: datetime, months: int) -> datetime:
    """Return ``moment`` the given number of calendar months earlier, on the month's last day if it is shorter."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def preset_start(preset: str, end: datetime) -> datetime:
    """Return the start of the period ``preset`` ending at ``end``: always a midnight (00:00 UTC).

    The end's minute is the period's last, so the span is counted from the minute after it: a month ending on
    January 31 at 23:59 or on February 1 at 00:00 starts on January 1 at 00:00. An end within a day starts the
    period at the midnight before, so the period holds at least the span.
    """
    span = PRESETS[preset]
    if span is None:
        return datetime(end.year, 1, 1, tzinfo=UTC)
    _, months, days = span
    first_minute = months_before(end + timedelta(minutes=1), months) - timedelta(days=days)
    return datetime.combine(first_minute.date(), time(), tzinfo=UTC)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in the settings")


class BacktestForm(QWidget):
    """Ask for one backtest; ``run_requested`` carries the validated `ws.BacktestRequest` when Run is clicked.

    Parameters
    ----------
    settings
        Where the last values are kept; by default the application's (organisation and application "workstation").
    parent
        The parent widget.
    """

    #: A validated ``ws.BacktestRequest`` to run.
    run_requested = Signal(object)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings("workstation", "workstation")
        presets = QWidget(self)
        presets_layout = QHBoxLayout(presets)
        presets_layout.setContentsMargins(0, 0, 0, 0)
        presets_layout.setSpacing(2)
        self.preset_buttons: dict[str, QPushButton] = {}
        for key, span in PRESETS.items():
            button = QPushButton(key, presets)
            button.setObjectName(f"preset_{key}")
            button.setToolTip(f"Start {span[0]} before the end" if span else "Start on January 1 of the end's year")
            button.setAutoDefault(False)
            # A push button's size hint is 80 px wide in most styles: six of them would make the dock 600 px wide.
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance("YTD") + 16)
            button.clicked.connect(lambda _checked=False, key=key: self.apply_preset(key))
            presets_layout.addWidget(button)
            self.preset_buttons[key] = button
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.setObjectName("browse_candle_file")
        self.browse_button.setAutoDefault(False)
        self.browse_button.setToolTip("Choose a candle CSV to trade on")
        self.browse_button.clicked.connect(self.browse_candle_file)
        self.form = SchemaForm(
            ws.BacktestRequest,
            choices={
                "exchange_name": lambda: ws.exchange_choices(stored=True),
                "strategy_name": ws.strategy_choices,
            },
            nested={"params": lambda values: ws.strategy_params_model(str(values.get("strategy_name", "")))},
            rows_after={"candle_file": ("", self.browse_button), "end": ("Period", presets)},
            parent=self,
        )
        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("run")
        self.run_button.setDefault(True)
        # A strategy with many parameters (managed-sma has 30) would otherwise stretch the dock, and with it the
        # window, past the screen's bottom edge: the fields scroll, Run stays in sight below them.
        fields = QWidget(self)
        fields_layout = QVBoxLayout(fields)
        fields_layout.setContentsMargins(0, 0, 0, 0)
        fields_layout.addWidget(self.form)
        fields_layout.addStretch(1)
        self.scroll_area = FormScrollArea(fields, self)
        self.scroll_area.setObjectName("backtest_fields")
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.run_button)

        end = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
        self.form.set_values({"start": preset_start("1M", end), "end": end})
        self._restore()
        self.run_button.setEnabled(self.form.is_valid())
        # Connected only now: building and restoring must not overwrite the stored values with the defaults.
        self.form.validity_changed.connect(self.run_button.setEnabled)
        self.form.values_changed.connect(self._save)
        self.run_button.clicked.connect(self._run_clicked)

    def request(self) -> ws.BacktestRequest | None:
        """Return the validated request, or None while a field is invalid."""
        result = self.form.result()
        return result if isinstance(result, ws.BacktestRequest) else None

    def show_request(self, request: ws.BacktestRequest) -> None:
        """Fill the form with ``request``, a run started from elsewhere (the demo), so that Run repeats it."""
        self.form.set_values(request.model_dump())

    def refresh_choices(self) -> None:
        """Offer the exchanges and strategies registered since (a strategy file was loaded) and validate again."""
        self.form.refresh_choices()

    def apply_preset(self, preset: str) -> None:
        """Set the start to the period ``preset`` (``1D``, ``1W``, ``1M``, ``3M``, ``1Y``, ``YTD``) before the end."""
        end = self.form.values()["end"]
        self.form.set_values({"start": preset_start(preset, end)})

    def show_preparation_error(self, error: ws.PreparationError) -> bool:
        """Show a run's preparation error next to its field until the next edit; return whether the form has it."""
        if error.field not in self.form.editors:
            return False
        self.form.show_error(error.field, error.reason)
        return True

    def browse_candle_file(self) -> QFileDialog:
        """Ask for a candle CSV (without blocking the event loop); the chosen file fills the candle file field."""
        dialog = QFileDialog(self, "Choose a candle file", "", "CSV files (*.csv);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.choose_candle_file)
        dialog.open()
        return dialog

    def choose_candle_file(self, path: str) -> None:
        """Trade on the candles of ``path``, served under a name of their own (``csv-<file name>``)."""
        values: dict[str, Any] = {"candle_file": path}
        exchange_name = str(self.form.values()["exchange_name"])
        if exchange_name == "demo" or exchange_name.startswith("stored-"):
            values["exchange_name"] = f"csv-{Path(path).stem}"
        self.form.set_values(values)

    def _run_clicked(self) -> None:
        request = self.request()
        if request is not None:
            self.run_requested.emit(request)

    def _save(self) -> None:
        self.settings.setValue(SETTINGS_KEY, json.dumps(self.form.values(), default=_json_default))

    def _restore(self) -> None:
        stored = self.settings.value(SETTINGS_KEY)
        if not isinstance(stored, str):
            return
        try:
            values = json.loads(stored)
        except ValueError:
            return  # an unreadable entry only loses the last values
        if not isinstance(values, dict):
            return
        for name, value in values.items():
            try:
                self.form.set_values({name: value})
            except (TypeError, ValueError, OverflowError):
                continue  # a stale or damaged entry loses only that field's last value, never the form
