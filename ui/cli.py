"""The ``workstation`` command: the headless command line, and the window when no command is given."""

from __future__ import annotations

from collections.abc import Sequence

from workstation.cli import WindowOptions
from workstation.cli import main as command_line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``workstation`` command: the window without a command, else the headless command line."""
    return command_line(argv, open_window=_open_window)


def _open_window(options: WindowOptions) -> int:
    # Qt's widgets load only when the window opens: the headless commands stay quick and need no display libraries.
    from ui.app import open_window  # noqa: PLC0415

    return open_window(options)
