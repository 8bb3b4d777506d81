"""Found in the new-user tour of issue 13: on the dark theme Fusion outlined a check box in the colour of the list
behind it, so the walker's strategy list (tick two, then Run) showed names with no box to tick. The outline now
follows the palette's text colour in both themes and across a switch.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QCheckBox, QStyle, QStyleOptionButton
from pytestqt.qtbot import QtBot

from ui.themes import ThemeName, apply_theme


def outline_and_inside(box: QCheckBox) -> tuple[int, int]:
    """Return the lightness of the box's indicator outline (its left edge, halfway down) and of its inside."""
    option = QStyleOptionButton()
    box.initStyleOption(option)
    rect = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
    image = box.grab().toImage()
    middle = rect.top() + rect.height() // 2
    return (
        image.pixelColor(rect.left(), middle).lightness(),
        image.pixelColor(rect.left() + rect.width() // 2, middle).lightness(),
    )


@pytest.mark.parametrize("themes", [("dark",), ("light",), ("light", "dark"), ("dark", "light")])
def test_an_unticked_box_has_an_outline_that_stands_out_from_its_inside(
    themes: tuple[ThemeName, ...], qtbot: QtBot, qapp: QApplication
) -> None:
    box = QCheckBox("Walk forward")
    qtbot.addWidget(box)
    box.show()
    try:
        for theme in themes:
            apply_theme(qapp, theme)
            qapp.processEvents()
        outline, inside = outline_and_inside(box)
    finally:
        qapp.setPalette(qapp.style().standardPalette())
    # Fusion's own outline differed from the inside by 2 in lightness on the dark theme (#181a1f around #16181d).
    assert abs(outline - inside) >= 60, (themes, outline, inside)
