"""The grid of a sweep, generated from a strategy's parameter model: per parameter a fixed value, a range or a list.

A numeric parameter can run over ``start`` to ``stop`` (both included) by ``step``, or over a comma list; any other
parameter over a comma list of its values. A parameter left fixed keeps its default and stays out of the grid, so the
factory's own default applies; one the strategy's name fixes (``sma-cross-limit`` is the crossover with
``variant="limit"``) is shown, cannot be changed, and always goes into the grid. Every value is checked against the
parameter's type and bounds, and the message shows under the parameter. Rules between parameters (slow above fast)
are the strategy's: a set that breaks one becomes a failed job of the sweep, shown in the results.
"""

from __future__ import annotations

import decimal
import enum
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QWidget,
)

from ui.forms.schema_form import ERROR_STYLE, error_text, field_label

#: How a parameter takes part in the sweep.
SweepMode = Literal["fixed", "range", "list"]
#: At most this many values per parameter: a typo in a step (0.0001 for 1) must not build a billion-value list.
MAX_VALUES = 100_000
_MODE_TITLES: dict[SweepMode, str] = {"fixed": "Fixed", "range": "Range", "list": "List"}


def value_text(value: object) -> str:
    """Return a parameter value as the grid and the tables write it (``0.99``, ``20``, ``limit``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


@dataclass(frozen=True)
class SweepGrid:
    """A valid grid: the values of each parameter in the sweep (key order = the product's order) and its size.

    ``swept`` names the parameters given a range or a list, in form order: the axes a heatmap or a table offers.
    """

    values: dict[str, Sequence[Any]]
    swept: list[str]
    size: int


def _options(annotation: Any) -> list[Any] | None:
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return list(annotation)
    if annotation is bool:
        return [False, True]
    return None


def _decimals(text: str) -> int:
    try:
        exponent = decimal.Decimal(text.strip()).as_tuple().exponent
    except decimal.InvalidOperation:
        return 0
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class _ParameterRow:
    """The editors of one parameter: its mode, and a fixed value, a range or a list."""

    def __init__(self, name: str, info: FieldInfo, pinned: bool, parent: QWidget) -> None:
        self.name = name
        self.info = info
        self.pinned = pinned
        self.default = info.get_default(call_default_factory=True)
        # The field's type and bounds only: rules between fields are the strategy's, checked per parameter set.
        field_type: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        self.adapter: TypeAdapter[Any] = TypeAdapter(field_type)
        annotation = info.annotation
        self.options = _options(annotation)
        self.integer = annotation is int
        self.numeric = self.options is None and annotation in (int, float)

        self.label = QLabel(field_label(name, info), parent)
        self.label.setToolTip(info.description or "")
        self.mode = QComboBox(parent)
        self.mode.setObjectName(f"{name}_mode")
        modes: list[SweepMode] = ["fixed", "range", "list"] if self.numeric else ["fixed", "list"]
        for mode in modes:
            self.mode.addItem(_MODE_TITLES[mode], mode)
        self.stack = QStackedWidget(parent)
        self.fixed = QComboBox(parent) if self.options is not None else QLineEdit(parent)
        self.fixed.setObjectName(f"{name}_fixed")
        if isinstance(self.fixed, QComboBox):
            for option in self.options or []:
                self.fixed.addItem(value_text(option), option)
            self.fixed.setCurrentIndex(max(self.fixed.findData(self.default), 0))
        else:
            self.fixed.setText(value_text(self.default))
        self.range_edits = [QLineEdit(parent) for _ in range(3)]
        range_box = QWidget(parent)
        range_layout = QHBoxLayout(range_box)
        range_layout.setContentsMargins(0, 0, 0, 0)
        range_layout.setSpacing(4)
        for edit, part in zip(self.range_edits, ("start", "stop", "step"), strict=True):
            edit.setObjectName(f"{name}_{part}")
            edit.setPlaceholderText(part)
            edit.setToolTip(f"{part} of the range (start and stop are both included)")
            range_layout.addWidget(edit)
        self.list_edit = QLineEdit(parent)
        self.list_edit.setObjectName(f"{name}_list")
        examples = ", ".join(value_text(option) for option in self.options or [])
        self.list_edit.setPlaceholderText(examples if examples else "comma separated values, e.g. 10, 20, 30")
        self.stack.addWidget(self.fixed)
        self.stack.addWidget(range_box)
        self.stack.addWidget(self.list_edit)
        self.count = QLabel(parent)
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.count.setMinimumWidth(self.count.fontMetrics().horizontalAdvance("× 000000"))
        self.error = QLabel(parent)
        self.error.setObjectName(f"{name}_error")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        for widget in (self.mode, self.fixed, self.stack, self.list_edit, *self.range_edits):
            widget.setToolTip(widget.toolTip() or info.description or "")
        if pinned:
            self.mode.setEnabled(False)
            self.fixed.setEnabled(False)
            self.label.setToolTip(f"{info.description or ''} (fixed by the strategy's name)".strip())

    def current_mode(self) -> SweepMode:
        mode: SweepMode = self.mode.currentData()
        return mode

    def show_mode(self) -> None:
        self.stack.setCurrentIndex({"fixed": 0, "range": 1, "list": 2}[self.current_mode()])

    def values(self) -> tuple[Sequence[Any] | None, str]:
        """Return this parameter's values in the grid (None: it stays out) and the error that keeps it invalid."""
        try:
            mode = self.current_mode()
            if mode == "fixed":
                value = self._fixed_value()
                return ([value] if self.pinned or value != self.default else None), ""
            values = self._range() if mode == "range" else self._list()
        except ValueError as exc:
            return None, str(exc)
        if len(values) == 0:
            return None, f"{self.name}: the {mode} has no value"
        return values, ""

    def _fixed_value(self) -> Any:
        if isinstance(self.fixed, QComboBox):
            return self.fixed.currentData()
        return self._check(self.fixed.text(), "value")

    def _check(self, text: str, what: str) -> Any:
        text = text.strip()
        if not text:
            raise ValueError(f"{self.name}: enter the {what}")
        try:
            return self.adapter.validate_python(text)
        except ValidationError as exc:
            reason = error_text(exc.errors()[0]["msg"])
            raise ValueError(f"{self.name}: {what} {text!r}: {reason}") from None

    def _range(self) -> Sequence[Any]:
        start_text, stop_text, step_text = (edit.text() for edit in self.range_edits)
        start = self._check(start_text, "start")
        stop = self._check(stop_text, "stop")
        try:
            step: float = int(step_text.strip()) if self.integer else float(step_text.strip())
        except ValueError:
            kind = "a whole number" if self.integer else "a number"
            raise ValueError(f"{self.name}: step must be {kind}, got {step_text.strip()!r}") from None
        if not math.isfinite(step) or step <= 0:
            raise ValueError(f"{self.name}: step must be above 0, got {step_text.strip()}")
        if stop < start:
            raise ValueError(f"{self.name}: stop ({stop_text.strip()}) is below start ({start_text.strip()})")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > MAX_VALUES:
            raise ValueError(f"{self.name}: the range has {count} values; at most {MAX_VALUES}")
        if self.integer:
            return range(start, stop + 1, int(step))
        # Decimal steps added in binary drift (0.1 * 3 is 0.30000000000000004): round to the inputs' decimals.
        digits = max(_decimals(start_text), _decimals(stop_text), _decimals(step_text))
        return [round(start + position * step, digits) for position in range(count)]

    def _list(self) -> list[Any]:
        parts = [part.strip() for part in self.list_edit.text().split(",")]
        values: list[Any] = []
        for part in parts:
            if not part:
                continue
            value = self._check(part, "value")
            if value not in values:
                values.append(value)
        if len(values) > MAX_VALUES:
            raise ValueError(f"{self.name}: the list has {len(values)} values; at most {MAX_VALUES}")
        return values


class GridEditor(QWidget):
    """The sweep grid of one strategy's parameters.

    Signals
    -------
    grid_changed()
        A mode or a value changed; `grid` and `errors` tell the new state.
    """

    grid_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, _ParameterRow] = {}
        self._model: type[BaseModel] | None = None
        self.layout_grid = QGridLayout(self)
        self.layout_grid.setContentsMargins(0, 0, 0, 0)
        self.layout_grid.setHorizontalSpacing(6)
        self.layout_grid.setVerticalSpacing(3)
        self.layout_grid.setColumnStretch(2, 1)
        self.grid_error = QLabel(self)
        self.grid_error.setObjectName("grid_error")
        self.grid_error.setStyleSheet(ERROR_STYLE)
        self.grid_error.setWordWrap(True)
        self.summary = QLabel(self)
        self.summary.setObjectName("grid_summary")

    def set_model(self, model: type[BaseModel] | None, pinned: typing.Collection[str] = ()) -> None:
        """Edit the parameters of ``model`` (None: no parameters); ``pinned`` ones are fixed by the strategy."""
        if model is self._model:
            return
        self._model = model
        while self.layout_grid.count():
            item = self.layout_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget not in (self.grid_error, self.summary):
                widget.deleteLater()
        self.rows = {}
        if model is not None:
            for name, info in model.model_fields.items():
                row = _ParameterRow(name, info, name in pinned, self)
                self.rows[name] = row
                line = self.layout_grid.rowCount()
                self.layout_grid.addWidget(row.label, line, 0)
                self.layout_grid.addWidget(row.mode, line, 1)
                self.layout_grid.addWidget(row.stack, line, 2)
                self.layout_grid.addWidget(row.count, line, 3)
                self.layout_grid.addWidget(row.error, line + 1, 0, 1, 4)
                row.mode.currentIndexChanged.connect(lambda _index, row=row: self._mode_changed(row))
                editors: list[QLineEdit] = [*row.range_edits, row.list_edit]
                if isinstance(row.fixed, QLineEdit):
                    editors.append(row.fixed)
                else:
                    row.fixed.currentIndexChanged.connect(lambda _index: self._changed())
                for edit in editors:
                    edit.textChanged.connect(lambda _text: self._changed())
        line = self.layout_grid.rowCount()
        self.layout_grid.addWidget(self.grid_error, line, 0, 1, 4)
        self.layout_grid.addWidget(self.summary, line + 1, 0, 1, 4)
        self._changed()

    # -- editing (a user's clicks, or a test's) --------------------------------------------------------------

    def set_fixed(self, name: str, value: object) -> None:
        """Keep ``name`` at one ``value``."""
        row = self.rows[name]
        row.mode.setCurrentIndex(row.mode.findData("fixed"))
        if isinstance(row.fixed, QComboBox):
            row.fixed.setCurrentIndex(row.fixed.findData(value))
        else:
            row.fixed.setText(value if isinstance(value, str) else value_text(value))

    def set_range(self, name: str, start: object, stop: object, step: object) -> None:
        """Run ``name`` from ``start`` to ``stop`` (both included) by ``step``."""
        row = self.rows[name]
        row.mode.setCurrentIndex(row.mode.findData("range"))
        for edit, value in zip(row.range_edits, (start, stop, step), strict=True):
            edit.setText(value if isinstance(value, str) else value_text(value))

    def set_list(self, name: str, text: str) -> None:
        """Run ``name`` over the comma separated values of ``text``."""
        row = self.rows[name]
        row.mode.setCurrentIndex(row.mode.findData("list"))
        row.list_edit.setText(text)

    # -- reading ------------------------------------------------------------------------------------------

    def errors(self) -> dict[str, str]:
        """Return the message of every parameter whose values are invalid (none when the grid is valid)."""
        errors = {}
        for name, row in self.rows.items():
            _values, error = row.values()
            if error:
                errors[name] = error
        return errors

    def grid(self) -> SweepGrid | None:
        """Return the grid, or None while a parameter is invalid or none is swept."""
        values: dict[str, Sequence[Any]] = {}
        swept: list[str] = []
        for name, row in self.rows.items():
            parameter_values, error = row.values()
            if error:
                return None
            if parameter_values is not None:
                values[name] = parameter_values
                if row.current_mode() != "fixed":
                    swept.append(name)
        if not swept:
            return None
        return SweepGrid(values, swept, math.prod(len(options) for options in values.values()))

    def grid_problem(self) -> str:
        """Return why there is no grid to run ("" when there is one)."""
        if not self.rows:
            return "This strategy has no parameters to sweep."
        if self.errors():
            return "Correct the parameters marked in red."
        if not any(row.current_mode() != "fixed" for row in self.rows.values()):
            return "The grid is empty: give at least one parameter a range or a list."
        return ""

    # -- internals ----------------------------------------------------------------------------------------

    def _mode_changed(self, row: _ParameterRow) -> None:
        row.show_mode()
        if row.current_mode() == "range" and not any(edit.text() for edit in row.range_edits):
            # A range around the default is a start the trader only has to adjust.
            default = row.default
            if isinstance(default, int | float) and not isinstance(default, bool):
                step = max(1, abs(default) // 4) if row.integer else abs(default) / 4 or 1.0
                for edit, value in zip(row.range_edits, (default - step, default + step, step), strict=True):
                    edit.setText(value_text(value if row.integer else round(value, 6)))
        self._changed()

    def _changed(self) -> None:
        for row in self.rows.values():
            values, error = row.values()
            row.error.setText(error)
            row.error.setVisible(bool(error))
            row.count.setText(f"× {len(values)}" if values is not None and row.current_mode() != "fixed" else "")
        problem = self.grid_problem()
        self.grid_error.setText(problem)
        self.grid_error.setVisible(bool(problem))
        grid = self.grid()
        self.summary.setText(f"{grid.size:,} parameter sets" if grid is not None else "")
        self.grid_changed.emit()
