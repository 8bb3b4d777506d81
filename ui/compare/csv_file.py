"""Write a CSV export so that a crash or a full disk leaves the old file or the new one, never half of one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``: a temporary file beside it, flushed to disk, then renamed over it.

    Raises
    ------
    OSError
        If the folder cannot be written; the temporary file is removed and ``path`` is untouched.
    """
    # Beside the target, so the rename stays on one filesystem and is atomic; open() rather than mkstemp gives the
    # file the user's usual permissions.
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("x", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
