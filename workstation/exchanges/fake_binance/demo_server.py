"""``workstation --demo-exchange-server``: the fake binance serving the demo market on a running clock.

The server lists BTC/USDT and ETH/USDT with the demo exchange's synthetic candles (`DemoFeed`), starts at the wall
clock's last closed minute and moves its market forward ``speed`` times faster than real time, so a user can place
orders from the workstation and watch them fill without an account or a network.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import TextIO

from workstation.exchanges.fake_binance.feed import DemoFeed
from workstation.exchanges.fake_binance.server import FAKE_API_KEY, FAKE_SECRET, FakeBinance
from workstation.timeutil import MINUTE_MS, now_ms

#: The port the demo server listens on unless told another (0: any free port).
DEMO_PORT = 8765
#: What the demo account holds at the start.
DEMO_BALANCES = {"USDT": 10_000.0}


class DemoClock:
    """The demo market's time: the wall clock at the start, then running ``speed`` times faster."""

    def __init__(self, speed: float, start_ms: int | None = None) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed={speed!r}: the demo clock runs forward, at a speed above 0")
        self.speed = speed
        self.start_ms = now_ms() if start_ms is None else start_ms
        self._started = time.monotonic()

    def present_ms(self) -> int:
        """Return the open time of the newest closed minute on the demo clock."""
        clock_ms = self.start_ms + int((time.monotonic() - self._started) * 1000 * self.speed)
        return clock_ms // MINUTE_MS * MINUTE_MS - MINUTE_MS


def serve_demo(
    *, port: int = DEMO_PORT, speed: float = 1.0, out: TextIO | None = None, stop: threading.Event | None = None
) -> None:
    """Serve the demo market on ``127.0.0.1:port`` until ``stop`` is set or the user presses Ctrl+C.

    Parameters
    ----------
    port
        The TCP port; 0 for any free one (the printed URL names it).
    speed
        How many times faster than real time the market moves.
    out
        Where the URL, the key and the secret are printed; standard output by default.
    stop
        Set it to stop the server (besides Ctrl+C).

    Raises
    ------
    ValueError
        If ``speed`` is not above 0.
    OSError
        If the port cannot be bound.
    """
    clock = DemoClock(speed)
    stream = sys.stdout if out is None else out
    server = FakeBinance(DemoFeed(), balances=DEMO_BALANCES, present=clock.present_ms(), port=port)
    with server:
        markets = ", ".join(f"{market.base}/{market.quote}" for market in server.markets.values())
        print(
            f"Fake binance spot exchange on {server.url} (demo market, {speed:g}x real time)\n"
            f"  API key: {FAKE_API_KEY}\n"
            f"  secret:  {FAKE_SECRET}\n"
            f"Markets: {markets}; the account holds {DEMO_BALANCES['USDT']:,.0f} USDT. "
            "Nothing leaves this computer. Stop with Ctrl+C.",
            file=stream,
            flush=True,
        )
        # Ticks fine enough to move the market minute by minute, at most a second apart.
        tick_s = min(1.0, max(0.02, 60.0 / speed / 2))
        waiter = stop if stop is not None else threading.Event()
        try:
            while not waiter.wait(tick_s):
                present = clock.present_ms()
                if present > (server.present or 0):
                    server.advance_to(present)
        except KeyboardInterrupt:
            pass
        print("Fake binance stopped.", file=stream, flush=True)
