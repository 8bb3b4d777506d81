"""Where the suite's vendored data lives: the one place tests look up a data file, so none reads outside the clone.

``tests/data/peer/`` holds unchanged copies of files from the backtest-kit peer harness (``shared/peer`` beside the
repository when this suite was written): its 1-day candles, its expected rows of the market, limit, managed and
managed-limit cases, and its ``make_candles.py``. ``tests/data/SHA256SUMS`` lists the sha256 of every file under
``tests/data`` (checked by ``tests/architecture/test_suite_data.py``; ``cd tests/data && sha256sum -c SHA256SUMS``
checks it by hand).

The 30-day and 365-day candles (3.4 MB and 42 MB) are not stored: ``peer_candles`` writes them with the vendored
``make_candles.py`` (seed 42, a few seconds for a year) and checks them against the sha256 the peer published in its
``RESULTS.md``, the digests in ``GENERATED_SHA256`` below.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
MANIFEST = DATA / "SHA256SUMS"
PEER = DATA / "peer"
"""Copies of the peer harness's files; ``stats/`` holds its statistics files (``expected/stats/`` of the harness)."""
BTC_1D_CSV = PEER / "btc_1d.csv"
"""The peer's 1 440 one-minute BTCUSDT candles from 2024-01-01T00:00Z (timestamp in ms, OHLCV)."""
EXPECTED = PEER / "expected"
"""The peer's rows, ``<variant>_<data>.jsonl`` (``.jsonl.gz`` for 365 days), read with ``workstation.parity``."""

MINUTES = {"30d": 43_200, "365d": 525_600}
GENERATED_SHA256 = {
    "30d": "dbe84956ed19a4415f89e5e4e856e91f59326afd15a497366b7ebe3787d515aa",
    "365d": "8e7c52b49384d5fe8ebb266d380e3404c6a48382f95f4bc95c6e32ec1535c94e",
}


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_rows(variant: str, data: str) -> Path:
    """Return the peer's expected rows of ``variant`` ("market", "limit", "managed", "managed-limit") on ``data``
    ("1d", "30d", "365d")."""
    plain = EXPECTED / f"{variant}_{data}.jsonl"
    return plain if plain.is_file() else plain.with_name(plain.name + ".gz")


def peer_candles(data: str, folder: Path) -> Path:
    """Return ``folder/btc_<data>.csv``, the peer's 30-day or 365-day candles, writing it when missing or different.

    The file is written under a temporary name and renamed once its sha256 is the published one, so a folder shared
    between processes never holds a partial file under the final name.
    """
    path = folder / f"btc_{data}.csv"
    if path.is_file() and sha256_of(path) == GENERATED_SHA256[data]:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    command = [sys.executable, str(PEER / "make_candles.py"), "--minutes", str(MINUTES[data]), "--seed", "42"]
    subprocess.run([*command, "--out", str(partial)], check=True)
    digest = sha256_of(partial)
    if digest != GENERATED_SHA256[data]:
        raise AssertionError(f"{partial}: sha256 {digest} is not the peer's {GENERATED_SHA256[data]}")
    partial.replace(path)
    return path
