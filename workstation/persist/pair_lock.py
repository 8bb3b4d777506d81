"""One trading process per pair and state store: an exclusive OS lock held while a live run of the pair goes on.

Two processes trading the same ``symbol:strategy_name`` from the same state file would both manage the same
position and announce every trade twice. A live run therefore locks ``<store>.locks/<pair>.lock`` (SQLite) or
``<folder>/.locks/<pair>.lock`` (JSON) before it restores anything; the file says who holds it. The operating
system drops the lock when its process ends, however it ends, so a killed run never blocks the next one. In-memory
state is private to its process and needs no lock.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from workstation.errors import StateInUseError
from workstation.persist.os_lock import try_lock, unlock
from workstation.persist.selection import adapter

__all__ = ["PairLock", "lock_pair"]


class PairLock:
    """The held lock of one pair; :meth:`release` gives it up."""

    def __init__(self, file: IO[str] | None) -> None:
        self._file = file

    def release(self) -> None:
        """Give the lock up (the lock file stays: deleting it could let two processes lock two different files)."""
        file, self._file = self._file, None
        if file is not None:
            unlock(file)
            file.close()


def lock_pair(symbol: str, strategy_name: str) -> PairLock:
    """Lock the pair in the store of the current ``signal`` adapter and return the held lock.

    Raises
    ------
    StateInUseError
        If another process holds the pair in that store; the message names the process and its host.
    OSError
        If the lock file cannot be created (the message names it).
    """
    store = getattr(adapter("signal"), "store", None)
    folder: Path | None = getattr(store, "locks_folder", None)
    if folder is None:
        return PairLock(None)
    key = f"{symbol}:{strategy_name}"
    path = folder / f"{quote(key, safe='')}.lock"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        file = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the lifetime of the run
    except OSError as exc:
        raise OSError(exc.errno, f"cannot create the lock file {path}: {exc.strerror or exc}") from exc
    if not try_lock(file):
        holder = _holder(file)
        file.close()
        raise StateInUseError(
            f"the live state of {key} in {getattr(store, 'location', folder)} is in use by {holder}; "
            "stop that run first, or use another state store for this one"
        )
    file.seek(0)
    file.truncate()
    file.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": int(time.time())}))
    file.flush()
    return PairLock(file)


def _holder(file: IO[str]) -> str:
    try:
        file.seek(0)
        owner: Any = json.loads(file.read())
        return f"process {int(owner['pid'])} on host {owner['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it has not said which yet)"
