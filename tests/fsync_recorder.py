"""Recording what reaches the disk: which ``os.fsync`` calls a test makes, on a file or on a folder."""

from __future__ import annotations

import os
import stat

import pytest


def record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, append ``"file"`` or ``"folder"`` to the returned list at each ``os.fsync`` (which still syncs)."""
    real_fsync = os.fsync
    synced: list[str] = []

    def recording_fsync(handle: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(handle).st_mode) else "file")
        real_fsync(handle)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return synced
