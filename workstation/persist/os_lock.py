"""Exclusive, non-blocking OS locks on open files: ``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows.

The operating system releases such a lock when its process ends, however it ends (``kill -9`` included), so a lock
left by a dead process never blocks anyone.
"""

from __future__ import annotations

import sys
from typing import IO, Any

__all__ = ["try_lock", "unlock"]

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def try_lock(file: IO[Any]) -> bool:
        """Take the exclusive lock of ``file`` and return True, or return False when another holder has it."""
        file.seek(0)
        try:
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(file: IO[Any]) -> None:
        """Release the lock taken by :func:`try_lock`."""
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(file: IO[Any]) -> bool:
        """Take the exclusive lock of ``file`` and return True, or return False when another holder has it."""
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(file: IO[Any]) -> None:
        """Release the lock taken by :func:`try_lock`."""
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)
