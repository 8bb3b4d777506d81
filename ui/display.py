"""Can the window be shown here? Qt aborts the process when it cannot; say why and what to do instead.

On Linux, Qt needs a display (X11 or Wayland) and, for X11, the ``xcb`` platform plugin with the system libraries
it links to (``libxcb-cursor0``, ``libxcb-icccm4``, ...). A missing one makes Qt abort with a core dump, so the
plugin is loaded once here first: the loader's message names the library that is missing.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

import PySide6

#: The Debian/Ubuntu packages the xcb plugin of Qt 6 needs beyond a basic X11 desktop.
XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-xkb1 libxkbcommon-x11-0"
)


def xcb_plugin() -> Path:
    """Return the path of Qt's X11 platform plugin inside the installed PySide6."""
    return Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def display_problem(*, offscreen_allowed: bool) -> str | None:
    """Return why the window cannot be shown here (the message for the user), or None when it can.

    With ``offscreen_allowed`` (a screenshot) a machine without a display switches Qt to its offscreen platform.
    """
    if not sys.platform.startswith("linux") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM")
    if not os.environ.get("DISPLAY") and platform is None:
        if offscreen_allowed:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
            return None
        return (
            "no display to open the window on. Use `workstation --screenshot PATH --run-demo` for a picture of it, "
            "or `workstation backtest --help` to backtest without it."
        )
    if platform not in (None, "xcb"):
        return None
    try:
        ctypes.CDLL(str(xcb_plugin()))
    except OSError as error:
        return (
            f"Qt cannot use the X11 display: {error}. On Debian or Ubuntu install the libraries it needs with "
            f"`sudo apt install {XCB_PACKAGES}`."
        )
    return None
