"""Reaching into the window's generated forms (``ui.forms.SchemaForm``) from a test, as a user would type into them."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QWidget

from ui.forms import SchemaForm

Widget = TypeVar("Widget", bound=QWidget)


def field_widget(form: SchemaForm, name: str, kind: type[Widget]) -> Widget:
    """Return the widget that edits the field ``name`` of ``form``, failing the test unless it is a ``kind``."""
    widget = form.editors[name].widget
    assert isinstance(widget, kind)
    return widget
