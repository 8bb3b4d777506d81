"""Whether the window can be shown: a clear message instead of Qt aborting the process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ui import display

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the checks are for Linux displays")


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_display")
def test_without_a_display_the_window_is_refused_with_the_alternatives() -> None:
    problem = display.display_problem(offscreen_allowed=False)
    assert problem is not None
    assert problem.startswith("no display to open the window on.")
    assert "--screenshot PATH --run-demo" in problem


@pytest.mark.usefixtures("no_display")
def test_without_a_display_a_screenshot_goes_offscreen() -> None:
    assert display.display_problem(offscreen_allowed=True) is None
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


@pytest.mark.usefixtures("no_display")
def test_an_x11_plugin_that_cannot_load_names_the_library_and_the_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "libqxcb.so"
    broken.write_bytes(b"not a shared library")
    monkeypatch.setattr(display, "xcb_plugin", lambda: broken)
    monkeypatch.setenv("DISPLAY", ":0")

    problem = display.display_problem(offscreen_allowed=False)

    assert problem is not None
    assert problem.startswith(f"Qt cannot use the X11 display: {broken}: ")
    assert problem.endswith(f"`sudo apt install {display.XCB_PACKAGES}`.")


@pytest.mark.usefixtures("no_display")
def test_another_platform_chosen_by_the_user_is_not_second_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "vnc")
    assert display.display_problem(offscreen_allowed=False) is None


def test_the_plugin_path_points_into_the_installed_pyside6() -> None:
    assert display.xcb_plugin().is_file()
