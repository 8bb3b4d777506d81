"""SchemaForm: editors chosen by annotation, labels and tooltips from the fields, live per-field errors."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from ui.forms import SchemaForm
from ui.forms.date_time_field import DateTimeField


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Sample(BaseModel):
    name: str = Field("a", title="Name", description="Any text.")
    count: int = Field(3, ge=1, le=9, title="Count", description="Between 1 and 9.")
    ratio: float = Field(0.1, gt=0, description="No title: the label comes from the name.")
    enabled: bool = Field(True, title="Enabled", description="On or off.")
    side: Literal["long", "short"] = Field("long", title="Side", description="A literal.")
    colour: Colour = Field(Colour.RED, title="Colour", description="An enum.")
    when: datetime = Field(datetime(2024, 1, 1, tzinfo=UTC), title="When", description="UTC.")

    @field_validator("name")
    @classmethod
    def _not_x(cls, name: str) -> str:
        if name == "x":
            raise ValueError("name must not be x")
        return name


def test_editors_labels_and_values(qtbot: QtBot) -> None:
    form = SchemaForm(Sample)
    qtbot.addWidget(form)

    kinds = {name: type(editor.widget) for name, editor in form.editors.items()}
    assert kinds == {
        "name": QLineEdit,
        "count": QSpinBox,
        "ratio": QLineEdit,
        "enabled": QCheckBox,
        "side": QComboBox,
        "colour": QComboBox,
        "when": DateTimeField,
    }
    count = form.editors["count"].widget
    assert isinstance(count, QSpinBox)
    assert (count.minimum(), count.maximum()) == (1, 9)
    assert form.labels["ratio"].text() == "Ratio"
    assert form.labels["count"].text() == "Count"
    assert form.editors["count"].widget.toolTip() == "Between 1 and 9."
    assert form.values() == {
        "name": "a",
        "count": 3,
        "ratio": 0.1,
        "enabled": True,
        "side": "long",
        "colour": Colour.RED,
        "when": datetime(2024, 1, 1, tzinfo=UTC),
    }
    assert form.result() == Sample()


def test_errors_show_live_next_to_the_field(qtbot: QtBot) -> None:
    form = SchemaForm(Sample)
    qtbot.addWidget(form)
    validity: list[bool] = []
    form.validity_changed.connect(validity.append)

    ratio = form.editors["ratio"].widget
    assert isinstance(ratio, QLineEdit)
    ratio.setText("1,5")
    assert form.error("ratio") == "Input should be a valid number, unable to parse string as a number"
    assert form.result() is None
    ratio.setText(" 0.3 ")
    assert form.error("ratio") == ""
    assert form.values()["ratio"] == 0.3
    form.set_values({"name": "x", "side": "short", "colour": Colour.BLUE})
    assert form.error("name") == "name must not be x"
    assert form.error_labels["name"].isVisibleTo(form)
    assert not form.error_labels["ratio"].isVisibleTo(form)
    form.set_values({"name": "y"})
    assert form.result() == Sample(name="y", ratio=0.3, side="short", colour=Colour.BLUE)
    assert validity == [False, True, False, True]
