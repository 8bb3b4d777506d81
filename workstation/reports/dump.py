"""Write a markdown report to disk atomically (SPEC §11.1)."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import platformdirs

__all__ = ["default_report_path", "dump_report"]


def default_report_path(kind: str, symbol: str, name: str) -> Path:
    """Return ``<user data dir>/reports/<kind>/<symbol>_<name>.md``.

    The user data directory is looked up on every call, never at import, so tests and the app can redirect it.
    """
    return Path(platformdirs.user_data_dir("workstation")) / "reports" / kind / f"{symbol}_{name}.md"


def _write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # A temporary file in the target's directory lives on the same filesystem, so os.replace is an atomic rename:
    # a reader never sees a half-written report, and a crash leaves the previous report intact.
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("x", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


async def dump_report(markdown: str, kind: str, symbol: str, name: str, path: str | Path | None) -> Path:
    """Write ``markdown`` to ``path``, or to the default report path when ``path`` is None.

    Missing directories are created and the file is replaced atomically. The blocking write runs in a worker
    thread so the event loop (and the GUI) keeps running.

    Parameters
    ----------
    markdown
        The report text, written as UTF-8 exactly as given.
    kind
        Report kind, the sub-folder of the default location (``backtest``, ``live``, ``schedule``, ...).
    symbol, name
        Give the default file name ``<symbol>_<name>.md`` (``name`` is a strategy or walker name).
    path
        Where to write; None for :func:`default_report_path`.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    OSError
        If the directory cannot be created or the file cannot be written (e.g. ``path`` is a directory).
    """
    target = default_report_path(kind, symbol, name) if path is None else Path(path)
    await asyncio.to_thread(_write_atomically, target, markdown)
    return target
