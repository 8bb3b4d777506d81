"""Time in the engine: int epoch milliseconds (UTC) inside, aware UTC datetimes at the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MINUTE_MS = 60_000
DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: One millisecond, built once: a managed backtest converts a time at every callback.
_ONE_MS = timedelta(milliseconds=1)

#: Minutes of every candle interval, in the order exchanges usually list them.
CANDLE_INTERVAL_MINUTES: dict[str, int] = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "8h": 480,
    "12h": 720,
    "1d": 1440,
}

#: Frame intervals: every candle interval plus three days.
FRAME_INTERVAL_MINUTES: dict[str, int] = {**CANDLE_INTERVAL_MINUTES, "3d": 4320}


def interval_ms(interval: str) -> int:
    """Return the length of a candle or frame interval in milliseconds."""
    return FRAME_INTERVAL_MINUTES[interval] * MINUTE_MS


def to_ms(moment: datetime) -> int:
    """Convert an aware datetime to epoch milliseconds; a naive datetime is refused."""
    # The engine's own times are in UTC itself, which has an offset: only another zone's is asked for.
    if moment.tzinfo is not UTC and (moment.tzinfo is None or moment.utcoffset() is None):
        raise ValueError(f"datetime must be timezone-aware, got naive {moment.isoformat()}")
    return (moment - _EPOCH) // _ONE_MS


def from_ms(timestamp: int) -> datetime:
    """Convert epoch milliseconds to an aware UTC datetime."""
    # Whole seconds and microseconds, positionally: twice as fast as timedelta(milliseconds=...), the same value.
    timestamp = int(timestamp)
    return _EPOCH + timedelta(0, timestamp // 1000, timestamp % 1000 * 1000)


class Moments:
    """`from_ms` for a caller whose times step evenly (a backtest's ``get_signal`` calls, an interval apart).

    Building a ``timedelta`` of decades costs ten times adding a small one: a time the last step away from the
    previous one is that addition, exact like all datetime arithmetic, so the value is `from_ms`'s.
    """

    __slots__ = ("_last", "_moment", "_step", "_step_ms")

    def __init__(self) -> None:
        self._last = 0
        self._moment = _EPOCH
        self._step_ms = 0
        self._step = timedelta(0)

    def at(self, timestamp: int) -> datetime:
        """Return ``from_ms(timestamp)``."""
        step_ms = timestamp - self._last
        if step_ms == self._step_ms:
            moment = self._moment + self._step
        else:
            moment = from_ms(timestamp)
            self._step_ms, self._step = step_ms, moment - self._moment
        self._last, self._moment = timestamp, moment
        return moment


def iso(timestamp: int) -> str:
    """Format epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    # isoformat is twice as fast as strftime and pads the year to four digits, as JavaScript's toISOString does.
    return from_ms(timestamp).isoformat(timespec="milliseconds")[:-6] + "Z"


def now_ms() -> int:
    """Return the system clock in epoch milliseconds."""
    return to_ms(datetime.now(UTC))
