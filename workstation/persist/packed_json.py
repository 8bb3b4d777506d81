"""Compact JSON, then zlib: how the run history stores a run's blobs (its command log, its limit orders).

Floats are written as ``repr`` writes them, so they read back bit for bit; NaN and infinities are refused (JSON has
none), so a blob always reads back as what was packed.
"""

from __future__ import annotations

import json
import zlib
from typing import Any


def pack_json(data: Any) -> bytes:
    """Return ``data`` as compact JSON compressed with zlib's default level.

    Raises
    ------
    ValueError
        If ``data`` holds a NaN or infinite number.
    """
    return zlib.compress(json.dumps(data, allow_nan=False, separators=(",", ":")).encode("utf-8"))


def unpack_json(blob: bytes) -> Any:
    """Return the data :func:`pack_json` packed into ``blob``.

    Raises
    ------
    zlib.error, ValueError
        If ``blob`` is not zlib-compressed JSON.
    """
    return json.loads(zlib.decompress(blob))
