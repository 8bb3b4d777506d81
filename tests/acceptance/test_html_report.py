"""The HTML report of the peer's 30-day run opens in headless Chromium and shows the account's and the trades' equity.

The test is ``slow``: it needs Chromium (Debian's ``chromium`` package), which ``.ci/run`` installs with
``CI_SLOW=1``; without a ``chromium`` on the PATH it is skipped, saying so. Every network access of the browser is made
to fail (host resolution mapped to nothing, a proxy on a closed port), and the page is checked statically for external
references. The screenshot is also copied to ``/tmp/html_report.png`` for a person to look at.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from data_paths import peer_candles
from PySide6.QtGui import QColor, QImage

import workstation as ws
from workstation.parity import SYMBOL, run_parity
from workstation.reports.svg_charts import ACCOUNT_EQUITY_COLOUR, EQUITY_COLOUR

pytestmark = pytest.mark.slow

SCREENSHOT_COPY = Path("/tmp/html_report.png")
#: Tall enough for the account's sections and the per-trade curve below them.
WIDTH, HEIGHT = 1280, 4200


@pytest.fixture(scope="module")
def btc_30d_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The peer's 30-day candles."""
    return peer_candles("30d", tmp_path_factory.mktemp("candles"))


@pytest.fixture(scope="module")
def chromium() -> str:
    """The path of the chromium binary."""
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (`CI_SLOW=1 .ci/run` installs it)")
    return found


def _screenshot(chromium: str, page: Path, png: Path) -> None:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={png.parent / 'chromium-profile'}",
        # Any attempt to reach the network fails: no name resolves and every request goes to a closed port.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.as_uri(),
    ]
    subprocess.run(command, capture_output=True, check=True, timeout=60)


def _pixels_of(png: Path, colour: str) -> np.ndarray:
    """Return a boolean (height, width) mask of the pixels painted exactly in ``colour``."""
    image = QImage(str(png)).convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull(), png
    stride = image.bytesPerLine()
    raw = np.frombuffer(bytes(image.constBits()), dtype=np.uint8).reshape(image.height(), stride)
    rgb = raw[:, : image.width() * 3].reshape(image.height(), image.width(), 3)
    wanted = QColor(colour)
    return np.all(rgb == (wanted.red(), wanted.green(), wanted.blue()), axis=2)


def test_the_30_day_report_shows_the_equity_curve_in_chromium(btc_30d_csv: Path, chromium: str, tmp_path: Path) -> None:
    run = asyncio.run(run_parity(btc_30d_csv, "market"))
    assert run.closed == 263  # SPEC §20.3: the peer's 30-day market case
    page = asyncio.run(ws.Backtest.dump(SYMBOL, "sma-cross-market", tmp_path / "report.html", format="html"))
    html = page.read_text(encoding="utf-8")

    assert re.search(r"https?:|\bsrc\s*=|\bhref\s*=|url\(|@import|@font-face|<script|<link", html, re.I) is None
    assert "<h1>Backtest Report: sma-cross-market (BTCUSDT)</h1>" in html
    assert '<td class="num">-113.97%</td>' in html  # Total PNL, SPEC §20.3: -113.968197

    png = tmp_path / "report.png"
    _screenshot(chromium, page, png)
    shutil.copyfile(png, SCREENSHOT_COPY)

    # The account's equity in money comes first, across the page.
    account = np.nonzero(_pixels_of(png, ACCOUNT_EQUITY_COLOUR))[1]
    assert account.max() - account.min() > WIDTH * 0.6

    curve = _pixels_of(png, EQUITY_COLOUR)
    # The legend's swatch, 2 pixels high under the chart, is the lowest thing in that colour: leave it out.
    curve[np.nonzero(curve)[0].max() - 1 :] = False
    rows, columns = np.nonzero(curve)
    # The curve crosses the chart from left to right: hundreds of steps, painted over most of the page's width.
    assert curve.sum() > 2000, curve.sum()
    assert columns.max() - columns.min() > WIDTH * 0.6
    # It falls: its rightmost pixels lie well below its leftmost ones (the run loses 114 %).
    left = rows[columns < columns.min() + 20].mean()
    right = rows[columns > columns.max() - 20].mean()
    assert right - left > 150, (left, right)
