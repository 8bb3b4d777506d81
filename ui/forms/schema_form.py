"""A form generated from a pydantic model: one editor per field, the field's validation error next to it.

The editor follows the field's annotation (text, exact float text, bounded spin box, check box, choice, UTC date and
time, a number left empty for None); the label is the field's ``title`` and the tooltip its ``description`` (DESIGN.md
§3.7). Every edit validates the whole model, so a rule between fields (end after start, slow above fast) shows at once
next to the field the model names. A ``dict`` field can be a nested form whose model depends on the other fields (a
strategy's parameters); a discriminated union of models is a choice of the variant over a sub-form of its fields (a
run's sizing).
"""

from __future__ import annotations

import enum
import math
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

import annotated_types
from pydantic import AwareDatetime, BaseModel, ValidationError
from pydantic.fields import FieldInfo
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.forms.date_time_field import DateTimeField

#: The names to offer for a field (exchange or strategy names), asked again by `SchemaForm.refresh_choices`.
ChoicesProvider = Callable[[], list[str]]
#: The model of a nested ``dict`` field given the form's other values, or None when it takes no values.
NestedModelProvider = Callable[[dict[str, Any]], type[BaseModel] | None]

ERROR_STYLE = "color: #d32f2f;"
_INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int


def field_label(name: str, info: FieldInfo) -> str:
    """Return the field's title, or its name made readable when it has none."""
    return info.title or name.replace("_", " ").capitalize()


def error_text(message: str) -> str:
    """Return a pydantic error message as a user reads it (without pydantic's "Value error, " prefix)."""
    return message.removeprefix("Value error, ")


class _Editor:
    """One field's editor: its widget, its value as the model expects it, and a way to hear edits."""

    widget: QWidget

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def on_edit(self, callback: Callable[[], None]) -> None:
        raise NotImplementedError


class _TextEditor(_Editor):
    def __init__(self, parent: QWidget) -> None:
        self.widget = self.line = QLineEdit(parent)

    def value(self) -> Any:
        return self.line.text()

    def set_value(self, value: Any) -> None:
        self.line.setText(str(value))

    def on_edit(self, callback: Callable[[], None]) -> None:
        self.line.textChanged.connect(callback)


class _FloatEditor(_TextEditor):
    """Floats as text: Python's own parsing is exact and locale-independent (``0.1`` is the double ``0.1``)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.line.setAlignment(Qt.AlignmentFlag.AlignRight)  # as the spin boxes: digits line up

    def value(self) -> Any:
        text = self.line.text().strip()
        try:
            return float(text)
        except ValueError:
            return text  # handed on as text, so the model's own message says why it is not a number

    def set_value(self, value: Any) -> None:
        self.line.setText(repr(float(value)) if isinstance(value, int | float) else str(value))


class _OptionalNumberEditor(_TextEditor):
    """A number that may be left out (``int | None``, ``float | None``): an empty field is None, shown as ``empty``."""

    def __init__(self, number: type[int] | type[float], empty: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.number = number
        self.line.setPlaceholderText(empty)
        self.line.setAlignment(Qt.AlignmentFlag.AlignRight)

    def value(self) -> Any:
        text = self.line.text().strip()
        if not text:
            return None
        try:
            return self.number(text)
        except ValueError:
            return text  # handed on as text, so the model's own message says why it is not a number

    def set_value(self, value: Any) -> None:
        self.line.setText("" if value is None else str(value))


class _IntEditor(_Editor):
    def __init__(self, info: FieldInfo, parent: QWidget) -> None:
        self.widget = self.spin = QSpinBox(parent)
        low, high = -_INT_LIMIT, _INT_LIMIT
        for constraint in info.metadata:
            if isinstance(constraint, annotated_types.Ge):
                low = max(low, math.ceil(constraint.ge))  # type: ignore[call-overload]
            elif isinstance(constraint, annotated_types.Gt):
                low = max(low, math.floor(constraint.gt) + 1)  # type: ignore[call-overload]
            elif isinstance(constraint, annotated_types.Le):
                high = min(high, math.floor(constraint.le))  # type: ignore[call-overload]
            elif isinstance(constraint, annotated_types.Lt):
                high = min(high, math.ceil(constraint.lt) - 1)  # type: ignore[call-overload]
        self.spin.setRange(low, high)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)

    def value(self) -> Any:
        return self.spin.value()

    def set_value(self, value: Any) -> None:
        self.spin.setValue(int(value))

    def on_edit(self, callback: Callable[[], None]) -> None:
        self.spin.valueChanged.connect(callback)


class _BoolEditor(_Editor):
    def __init__(self, parent: QWidget) -> None:
        self.widget = self.check = QCheckBox(parent)

    def value(self) -> Any:
        return self.check.isChecked()

    def set_value(self, value: Any) -> None:
        self.check.setChecked(bool(value))

    def on_edit(self, callback: Callable[[], None]) -> None:
        self.check.toggled.connect(callback)


class _ChoiceEditor(_Editor):
    """A fixed set of values (``Literal`` or ``Enum``); a single possible value is shown but cannot be changed."""

    def __init__(self, options: list[tuple[str, Any]], parent: QWidget) -> None:
        self.widget = self.combo = QComboBox(parent)
        for text, value in options:
            self.combo.addItem(text, value)
        self.combo.setEnabled(len(options) > 1)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        index = self.combo.findData(value)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def on_edit(self, callback: Callable[[], None]) -> None:
        self.combo.currentIndexChanged.connect(callback)


class _NameEditor(_Editor):
    """Known names offered in an editable combo: any other text may be typed, and the model judges it."""

    def __init__(self, choices: ChoicesProvider, parent: QWidget) -> None:
        self.choices = choices
        self.widget = self.combo = QComboBox(parent)
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.refresh()

    def refresh(self) -> None:
        text = self.combo.currentText()
        blocked = self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(self.choices())
        self.combo.setCurrentText(text)
        self.combo.blockSignals(blocked)

    def value(self) -> Any:
        return self.combo.currentText()

    def set_value(self, value: Any) -> None:
        self.combo.setCurrentText(str(value))

    def on_edit(self, callback: Callable[[], None]) -> None:
        self.combo.currentTextChanged.connect(callback)


class _DateTimeEditor(_Editor):
    """An aware UTC datetime, to the minute, typed as ``YYYY-MM-DD HH:MM`` or picked from a calendar."""

    def __init__(self, parent: QWidget) -> None:
        self.widget = self.field = DateTimeField(parent)
        self.set_value(datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC))

    def value(self) -> Any:
        moment = self.field.value()
        # Text that is not a date and time yet is handed on as text: the model's own message says what is wrong.
        return moment if moment is not None else self.field.text()

    def set_value(self, value: Any) -> None:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, time(), tzinfo=UTC)
        self.field.set_value(value)

    def on_edit(self, callback: Callable[[], None]) -> None:
        self.field.text_changed.connect(callback)


class _NestedEditor(_Editor):
    """A ``dict`` field edited by a sub-form over a model that depends on the other fields."""

    def __init__(self, title: str, provider: NestedModelProvider, parent: QWidget) -> None:
        self.provider = provider
        self.widget = self.group = QGroupBox(title, parent)
        self.layout = QVBoxLayout(self.group)
        self.layout.setContentsMargins(6, 6, 6, 6)
        self.model: type[BaseModel] | None = None
        self.form: SchemaForm | None = None
        self.empty = QLabel("No parameters", self.group)
        self.empty.setEnabled(False)
        self.layout.addWidget(self.empty)
        self._callbacks: list[Callable[[], None]] = []

    def sync(self, values: dict[str, Any]) -> bool:
        """Rebuild the sub-form when the model for ``values`` changed; return whether it did."""
        model = self.provider(values)
        if model is self.model:
            return False
        previous = self.form.values() if self.form is not None else {}
        if self.form is not None:
            self.layout.removeWidget(self.form)
            self.form.deleteLater()
            self.form = None
        self.model = model
        self.empty.setVisible(model is None)
        if model is not None:
            self.form = SchemaForm(model, parent=self.group)
            # Keep what the user typed in fields the new model has too (a fixed field ignores a foreign value).
            self.form.set_values({name: value for name, value in previous.items() if name in model.model_fields})
            for callback in self._callbacks:
                self.form.values_changed.connect(callback)
            self.layout.addWidget(self.form)
        return True

    def value(self) -> Any:
        return self.form.values() if self.form is not None else {}

    def set_value(self, value: Any) -> None:
        if self.form is not None:
            self.form.set_values(dict(value))

    def on_edit(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)


class _UnionEditor(_Editor):
    """A discriminated union of models: a choice of the variant, then a sub-form of the chosen variant's fields.

    The value is the chosen variant's values as a ``dict`` with its tag (``{"method": "risk", "percent": 1.0}``).
    """

    def __init__(self, variants: list[type[BaseModel]], discriminator: str, parent: QWidget) -> None:
        self.discriminator = discriminator
        self.widget = QWidget(parent)
        layout = QVBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.combo = QComboBox(self.widget)
        self.combo.setObjectName(f"{discriminator}_choice")
        layout.addWidget(self.combo)
        self.forms: dict[Any, SchemaForm] = {}
        for variant in variants:
            tag = variant.model_fields[discriminator].default
            self.combo.addItem(str(tag).replace("_", " "), tag)
            form = SchemaForm(variant, parent=self.widget)
            form.set_field_visible(discriminator, False)
            form.setVisible(False)
            layout.addWidget(form)
            self.forms[tag] = form
        self.combo.currentIndexChanged.connect(self._show_chosen)
        self._show_chosen()

    def chosen(self) -> SchemaForm:
        """Return the sub-form of the variant chosen now."""
        return self.forms[self.combo.currentData()]

    def _show_chosen(self) -> None:
        chosen = self.chosen()
        for form in self.forms.values():
            form.setVisible(form is chosen)

    def value(self) -> Any:
        return self.chosen().values()

    def set_value(self, value: Any) -> None:
        values = value.model_dump() if isinstance(value, BaseModel) else dict(value)
        index = self.combo.findData(values.get(self.discriminator))
        if index < 0:
            return  # an unknown variant (a stale stored value) keeps the choice shown
        self.combo.setCurrentIndex(index)
        self.chosen().set_values(values)

    def on_edit(self, callback: Callable[[], None]) -> None:
        self.combo.currentIndexChanged.connect(callback)
        for form in self.forms.values():
            form.values_changed.connect(callback)


def _union_variants(info: FieldInfo) -> list[type[BaseModel]] | None:
    """Return the models of a discriminated union field, or None for another field."""
    if not isinstance(info.discriminator, str):
        return None
    variants = typing.get_args(info.annotation)
    if variants and all(isinstance(variant, type) and issubclass(variant, BaseModel) for variant in variants):
        return list(variants)
    return None


def _optional_number(annotation: Any) -> type[int] | type[float] | None:
    """Return ``int`` or ``float`` for an ``int | None`` or ``float | None`` field, None for another field."""
    arguments = typing.get_args(annotation)
    if len(arguments) != 2 or type(None) not in arguments:
        return None
    number = next(argument for argument in arguments if argument is not type(None))
    if number is int or number is float:
        return number
    return None


def _choice_options(annotation: Any) -> list[tuple[str, Any]] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return [(str(value), value) for value in typing.get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [(str(member.value), member) for member in annotation]
    return None


class SchemaForm(QWidget):
    """A form over the fields of ``model``, validated on every edit.

    Parameters
    ----------
    model
        The pydantic model whose fields are edited.
    choices
        Field name -> the names to offer: that field becomes an editable combo box.
    nested
        Field name of a ``dict`` field -> the model of its sub-form given the other values (None: no sub-form).
    rows_after
        Field name -> a label and a widget to put in a row of their own under that field (date presets).
    empty_text
        What an empty ``int | None`` or ``float | None`` field means, shown in it ("no limit").
    parent
        The parent widget.
    """

    #: Emitted when the form turns valid (True) or invalid (False).
    validity_changed = Signal(bool)
    #: Emitted after every edit (and after `set_values`), once the form has been validated again.
    values_changed = Signal()

    def __init__(
        self,
        model: type[BaseModel],
        *,
        choices: Mapping[str, ChoicesProvider] | None = None,
        nested: Mapping[str, NestedModelProvider] | None = None,
        rows_after: Mapping[str, tuple[str, QWidget]] | None = None,
        empty_text: str = "none",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.empty_text = empty_text
        self.editors: dict[str, _Editor] = {}
        self.labels: dict[str, QLabel] = {}
        self.error_labels: dict[str, QLabel] = {}
        self._result: BaseModel | None = None
        self._valid: bool | None = None
        self._updating = False
        self._hidden: set[str] = set()
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(4)
        self.grid.setColumnStretch(1, 1)
        choices = choices or {}
        nested = nested or {}
        rows_after = rows_after or {}
        for name, info in model.model_fields.items():
            editor = self._make_editor(name, info, choices.get(name), nested.get(name))
            self.editors[name] = editor
            editor.widget.setObjectName(name)
            if info.description:
                editor.widget.setToolTip(info.description)
            error = QLabel(self)
            error.setObjectName(f"{name}_error")
            error.setStyleSheet(ERROR_STYLE)
            error.setWordWrap(True)
            error.hide()
            self.error_labels[name] = error
            row = self.grid.rowCount()
            if isinstance(editor, _NestedEditor):
                self.grid.addWidget(editor.widget, row, 0, 1, 2)
                self.grid.addWidget(error, row + 1, 0, 1, 2)
            else:
                label = QLabel(field_label(name, info), self)
                label.setBuddy(editor.widget)
                label.setToolTip(info.description or "")
                self.labels[name] = label
                self.grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                self.grid.addWidget(editor.widget, row, 1)
                self.grid.addWidget(error, row + 1, 1)
            if name in rows_after:
                text, widget = rows_after[name]
                row = self.grid.rowCount()
                self.grid.addWidget(QLabel(text, self), row, 0)
                self.grid.addWidget(widget, row, 1)
            if info.default is not None and not info.is_required():
                editor.set_value(info.get_default(call_default_factory=True))
        self.form_error = QLabel(self)
        self.form_error.setObjectName("form_error")
        self.form_error.setStyleSheet(ERROR_STYLE)
        self.form_error.setWordWrap(True)
        self.form_error.hide()
        self.grid.addWidget(self.form_error, self.grid.rowCount(), 0, 1, 2)
        for editor in self.editors.values():
            editor.on_edit(self._edited)
        self._sync_nested()
        self._validate()

    def _make_editor(
        self, name: str, info: FieldInfo, choices: ChoicesProvider | None, nested: NestedModelProvider | None
    ) -> _Editor:
        annotation = info.annotation
        if nested is not None:
            return _NestedEditor(field_label(name, info), nested, self)
        if choices is not None:
            return _NameEditor(choices, self)
        options = _choice_options(annotation)
        if options is not None:
            return _ChoiceEditor(options, self)
        variants = _union_variants(info)
        if variants is not None and isinstance(info.discriminator, str):
            return _UnionEditor(variants, info.discriminator, self)
        number = _optional_number(annotation)
        if number is not None:
            return _OptionalNumberEditor(number, self.empty_text, self)
        if isinstance(annotation, type):
            # bool before int: a bool is an int to issubclass.
            if issubclass(annotation, bool):
                return _BoolEditor(self)
            if issubclass(annotation, int):
                return _IntEditor(info, self)
            if issubclass(annotation, float):
                return _FloatEditor(self)
            if issubclass(annotation, datetime) or annotation is AwareDatetime:
                return _DateTimeEditor(self)
            if issubclass(annotation, str):
                return _TextEditor(self)
        raise TypeError(f"SchemaForm cannot edit field {name!r} of type {annotation!r}")

    # -------------------------------------------------------------------------------------------------------------
    # Values

    def values(self) -> dict[str, Any]:
        """Return every field's value as the model expects it (text that is not a number stays text)."""
        return {name: editor.value() for name, editor in self.editors.items()}

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Set the given fields (others keep their value), then validate once and emit `values_changed`."""
        self._updating = True
        try:
            for name, value in values.items():
                editor = self.editors.get(name)
                if editor is not None and not isinstance(editor, _NestedEditor):
                    editor.set_value(value)
            self._sync_nested()
            for name, value in values.items():
                editor = self.editors.get(name)
                if isinstance(editor, _NestedEditor) and isinstance(value, Mapping):
                    editor.set_value(value)
        finally:
            self._updating = False
        self._edited()

    def result(self) -> BaseModel | None:
        """Return the validated model of the current values, or None while any field is invalid."""
        return self._result

    def is_valid(self) -> bool:
        """Tell whether the current values validate."""
        return self._result is not None

    def set_field_visible(self, name: str, visible: bool) -> None:
        """Show or hide the row of the field ``name`` (a field that does not apply given the other values)."""
        if visible:
            self._hidden.discard(name)
        else:
            self._hidden.add(name)
        label = self.labels.get(name)
        if label is not None:
            label.setVisible(visible)
        self.editors[name].widget.setVisible(visible)
        self.error_labels[name].setVisible(visible and bool(self.error_labels[name].text()))

    def sub_form(self, name: str) -> SchemaForm | None:
        """Return the nested form of the ``dict`` field ``name``, if it has one now."""
        editor = self.editors.get(name)
        return editor.form if isinstance(editor, _NestedEditor) else None

    def refresh_choices(self) -> None:
        """Ask every choices provider again (names registered since) and validate again."""
        for editor in self.editors.values():
            if isinstance(editor, _NameEditor):
                editor.refresh()
        self._edited()

    # -------------------------------------------------------------------------------------------------------------
    # Validation

    def _edited(self) -> None:
        if self._updating:
            return
        self._sync_nested()
        self._validate()
        self.values_changed.emit()

    def _sync_nested(self) -> None:
        nested = [editor for editor in self.editors.values() if isinstance(editor, _NestedEditor)]
        others = {name: editor.value() for name, editor in self.editors.items() if editor not in nested}
        for editor in nested:
            editor.sync(others)

    def _validate(self) -> None:
        messages: dict[str, list[str]] = {}
        try:
            self._result = self.model.model_validate(self.values())
        except ValidationError as exc:
            self._result = None
            for error in exc.errors():
                location = error["loc"]
                name = str(location[0]) if location else ""
                sub_form = isinstance(self.editors.get(name), _NestedEditor | _UnionEditor)
                if sub_form and len(location) > 1:
                    continue  # the sub-form validates its own model and shows the same error at its field
                if name not in self.editors:
                    name = ""
                messages.setdefault(name, []).append(error_text(error["msg"]))
        for name, label in self.error_labels.items():
            text = "\n".join(messages.get(name, []))
            label.setText(text)
            label.setVisible(bool(text) and name not in self._hidden)
        general = "\n".join(messages.get("", []))
        self.form_error.setText(general)
        self.form_error.setVisible(bool(general))
        valid = self._result is not None
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)

    def show_error(self, name: str, message: str) -> None:
        """Show ``message`` next to the field ``name`` until the next edit (a problem found after validation)."""
        label = self.error_labels[name]
        label.setText(message)
        label.show()

    def error(self, name: str) -> str:
        """Return the error shown next to the field ``name`` ("" when it is valid)."""
        return self.error_labels[name].text()
