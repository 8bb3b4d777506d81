"""Write a report (markdown, HTML or CSV) to disk atomically (SPEC §11.1)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import platformdirs

from workstation.atomic_file import write_text_atomically

__all__ = ["default_report_path", "dump_report", "file_name_part"]

#: Characters that would split a file name into folders or that some file systems refuse (Windows' set), plus ``%``
#: itself so that the encoding stays reversible: ``BTC/USDT`` must be one file, not ``BTC/`` + ``USDT_...``.
_UNSAFE_IN_FILE_NAMES = frozenset('%/\\:*?"<>|')


def file_name_part(text: str) -> str:
    r"""Return ``text`` made safe as part of a file name by percent-encoding what a file name cannot hold.

    ``%``, ``/``, ``\``, ``:``, ``*``, ``?``, ``"``, ``<``, ``>``, ``|`` and control characters become ``%XX``
    (their UTF-8 bytes in upper-case hex); everything else is kept as is.

    Parameters
    ----------
    text
        A symbol or a strategy, walker or exchange name.

    Returns
    -------
    str
        E.g. ``"BTC%2FUSDT"`` for ``"BTC/USDT"``.
    """
    return "".join(
        "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        if char in _UNSAFE_IN_FILE_NAMES or ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0
        else char
        for char in text
    )


def default_report_path(kind: str, symbol: str | None, name: str, extension: str = "md") -> Path:
    """Return ``<user data dir>/reports/<kind>/<symbol>_<name>.<extension>``, or ``<name>.<extension>`` without symbol.

    A report over every symbol (the heatmap) passes ``symbol=None``.

    ``symbol`` and ``name`` pass through :func:`file_name_part`, so the file always lands directly in the kind's
    folder. The user data directory is looked up on every call, never at import, so tests and the app can redirect it.
    """
    stem = file_name_part(name) if symbol is None else f"{file_name_part(symbol)}_{file_name_part(name)}"
    file_name = f"{stem}.{extension}"
    return Path(platformdirs.user_data_dir("workstation")) / "reports" / kind / file_name


async def dump_report(
    text: str, kind: str, symbol: str | None, name: str, path: str | Path | None, *, extension: str = "md"
) -> Path:
    """Write ``text`` to ``path``, or to the default report path when ``path`` is None.

    Missing directories are created and the file is replaced atomically (a temporary file in the same folder, then a
    rename), so nothing is ever half-written. The blocking write runs in a worker thread so the event loop (and the
    GUI) keeps running.

    Parameters
    ----------
    text
        The report (markdown, HTML or CSV), written as UTF-8 exactly as given.
    kind
        Report kind, the sub-folder of the default location (``backtest``, ``live``, ``schedule``, ...).
    symbol, name
        Give the default file name ``<symbol>_<name>.<extension>`` (``name`` is a strategy or walker name), or
        ``<name>.<extension>`` when ``symbol`` is None.
    path
        Where to write; None for :func:`default_report_path`.
    extension
        The default file name's extension: ``md``, ``html`` or ``csv``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    OSError
        If the folder cannot be created or the file cannot be written; the error (``IsADirectoryError`` when
        ``path`` is a directory, ``PermissionError``, ``NotADirectoryError``, ...) names the report's path.
    """
    target = default_report_path(kind, symbol, name, extension) if path is None else Path(path)
    await asyncio.to_thread(write_text_atomically, target, text, make_folders=True)
    return target
