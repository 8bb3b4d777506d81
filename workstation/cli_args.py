"""Command-line plumbing shared by ``workstation`` and ``python -m workstation.parity``."""

from __future__ import annotations

import argparse
from typing import NoReturn


class ArgumentProblem(ValueError):
    """An argument value a command cannot use; the message starts with the argument's flag."""


class UsageError(Exception):
    """A command line that cannot be run; the message is the complete line to print."""


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse`` parser that raises `UsageError` with one line instead of printing usage and exiting.

    Sub-parsers created from it are of the same class, so they report the same way, under their own ``prog``.
    """

    def error(self, message: str) -> NoReturn:
        """Raise `UsageError` with ``<prog>: error: <message>``."""
        raise UsageError(f"{self.prog}: error: {message}")
