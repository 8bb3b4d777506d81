"""In-memory cache of contiguous candle ranges per (symbol, interval), with their VWAP series."""

from __future__ import annotations

import bisect

import numpy as np

from workstation.clients.candle_data import read_only_owner, vwap_series
from workstation.models.candles import CANDLE_DTYPE


def _read_only_buffer(capacity: int) -> np.ndarray:
    buffer = np.empty(capacity, dtype=CANDLE_DTYPE)
    buffer.flags.writeable = False
    return buffer


#: Candles whose VWAP is computed at once when a series must grow (a few ms of work).
_VWAP_BLOCK = 1 << 15


class CandleSegment:
    """A contiguous run of candles in a buffer that grows by half, so appends stay amortised O(1).

    Candles that are views of one read-only array (what the CSV exchange hands out) are not copied: the segment
    is a view of that array for as long as the appends continue it, so a file's candles are held once.

    The buffer is read-only except during the segment's own copies into it, so a view handed out (to a strategy's
    ``get_candles``) cannot be made writeable again: numpy refuses ``setflags(write=True)`` on a view of a
    read-only owner, and one run can never change the candles another run reads.
    """

    __slots__ = ("_buffer", "_shared", "length", "start", "step", "vwaps")

    def __init__(self, candles: np.ndarray, step: int, capacity: int = 1024) -> None:
        self.step = step
        self.start = int(candles["timestamp"][0])
        self.length = len(candles)
        self._shared = read_only_owner(candles)
        if self._shared is not None:
            owner, offset = self._shared
            self._buffer = owner[offset:]
        else:
            self._buffer = _read_only_buffer(max(self.length, capacity))
            self._write(0, candles)
        #: By candle count: the VWAP series computed so far (`vwap`) and how much of it is valid; read, never written,
        #: outside the segment (the exchange reads a price from it at every strategy call).
        self.vwaps: dict[int, tuple[np.ndarray, int]] = {}

    @property
    def end(self) -> int:
        """Open time just past the last candle (exclusive)."""
        return self.start + self.length * self.step

    @property
    def candles(self) -> np.ndarray:
        """A view of the cached candles."""
        return self._buffer[: self.length]

    def offset_in(self, owner: np.ndarray) -> int | None:
        """Index of the first candle in ``owner`` when the segment is a view of it, else ``None``."""
        if self._shared is None or self._shared[0] is not owner:
            return None
        return self._shared[1]

    def index(self, timestamp: int) -> int:
        """Index of the candle opening at ``timestamp``."""
        return (timestamp - self.start) // self.step

    def append(self, candles: np.ndarray) -> None:
        """Add candles that start exactly at ``end``."""
        needed = self.length + len(candles)
        if self._shared is not None:
            owner, offset = self._shared
            continued = read_only_owner(candles)
            if continued is not None and continued[0] is owner and continued[1] == offset + self.length:
                self.length = needed
                return
            self._shared = None
            self._grow(max(needed, self.length * 3 // 2))
        elif needed > len(self._buffer):
            self._grow(max(needed, len(self._buffer) * 3 // 2))
        self._write(self.length, candles)
        self.length = needed

    def reserve(self, length: int) -> None:
        """Make room for ``length`` candles now, so later appends up to that length copy nothing.

        A shared (read-only view) segment is left alone: it grows by viewing more of its owner.
        """
        if self._shared is not None or length <= len(self._buffer):
            return
        self._grow(length)

    def _grow(self, capacity: int) -> None:
        cached = self._buffer[: self.length]
        self._buffer = _read_only_buffer(capacity)
        self._write(0, cached)

    def _write(self, index: int, candles: np.ndarray) -> None:
        """Copy ``candles`` into the buffer at ``index``; only here, and only for this copy, is it writeable."""
        self._buffer.flags.writeable = True
        try:
            self._buffer[index : index + len(candles)] = candles
        finally:
            self._buffer.flags.writeable = False

    def window(self, first: int, count: int) -> np.ndarray:
        """Return a view of the ``count`` candles from index ``first``, read-only as every view of the buffer is."""
        return self._buffer[first : first + count]

    def vwap_at(self, count: int, index: int) -> float:
        """Return the VWAP of the ``count`` candles ending at ``index`` (below `length`), one value of `vwap`."""
        series = self.vwaps.get(count)
        if series is None or series[1] <= index:
            return float(self.vwap(count, index + 1)[index])
        return float(series[0][index])

    def vwap(self, count: int, upto: int | None = None) -> np.ndarray:
        """VWAP of the ``count`` candles ending at each index (NaN where the window is not full).

        The series is valid at least below index ``upto`` (all cached candles when None) and is extended a block
        at a time: a year of candles is a few short computations spread over a run, never one long one that
        would hold the event loop (and a GUI on it). Every window is summed on its own, so the values do not
        depend on where a block starts.
        """
        needed = self.length if upto is None or upto > self.length else upto
        series, valid = self.vwaps.get(count, (np.empty(0), 0))
        if valid < needed:
            if len(series) < len(self._buffer):
                grown = np.empty(len(self._buffer))
                grown[:valid] = series[:valid]
                series = grown
            end = min(self.length, max(needed, valid + _VWAP_BLOCK))
            first = max(valid, count - 1)
            series[valid:first] = np.nan
            if first < end:
                series[first:end] = vwap_series(self._buffer[first - count + 1 : end], count)
            valid = end
            self.vwaps[count] = (series, valid)
        return series[:valid]


class CandleCache:
    """Disjoint contiguous segments of one (symbol, interval), sorted by start."""

    def __init__(self, step: int) -> None:
        self.step = step
        self._segments: list[CandleSegment] = []
        self._starts: list[int] = []
        self._expected: tuple[int, int] | None = None

    def expect(self, since: int, until: int) -> None:
        """Announce that ``[since, until)`` will be read, so the segment holding it is allocated once.

        A segment that already holds ``since`` (candles read for a chart before the run) gets its room now, at
        the start, rather than by growing (and copying) as the reads reach past its end.
        """
        self._expected = (since, until)
        segment = self.find(since)
        if segment is not None:
            segment.reserve((until - segment.start) // self.step)

    @property
    def expected(self) -> tuple[int, int] | None:
        """The ``[since, until)`` a run announced it will read (`expect`), if any."""
        return self._expected

    def find(self, timestamp: int) -> CandleSegment | None:
        """Return the segment holding the candle that opens at ``timestamp``, if any."""
        position = bisect.bisect_right(self._starts, timestamp) - 1
        if position >= 0:
            segment = self._segments[position]
            if timestamp < segment.end:
                return segment
        return None

    def insert(self, candles: np.ndarray) -> None:
        """Add a contiguous run of candles; cached candles win where they overlap, touching runs merge."""
        if len(candles) == 0:
            return
        start = int(candles["timestamp"][0])
        end = start + len(candles) * self.step
        touching = [s for s in self._segments if s.start <= end and s.end >= start]
        if len(touching) == 1 and touching[0].end == start:
            segment = touching[0]
            segment.append(candles)
            self._merge_following(segment)
            return
        if not touching:
            capacity = 1024
            if self._expected is not None and self._expected[0] <= start < self._expected[1]:
                capacity = (self._expected[1] - start) // self.step
            segment = CandleSegment(candles, self.step, capacity)
            position = bisect.bisect_right(self._starts, start)
            self._segments.insert(position, segment)
            self._starts.insert(position, start)
            return
        first = min(start, touching[0].start)
        last = max(end, touching[-1].end)
        merged = self._shared_union(candles, touching, first, last)
        if merged is None:
            merged = np.empty((last - first) // self.step, dtype=CANDLE_DTYPE)
            offset = (start - first) // self.step
            merged[offset : offset + len(candles)] = candles
            for segment in touching:
                offset = (segment.start - first) // self.step
                merged[offset : offset + segment.length] = segment.candles
        for segment in touching:
            position = self._segments.index(segment)
            del self._segments[position]
            del self._starts[position]
        self.insert(merged)

    def _shared_union(
        self, candles: np.ndarray, touching: list[CandleSegment], first: int, last: int
    ) -> np.ndarray | None:
        """Return ``[first, last)`` as a view of the read-only owner of every piece, when they all sit in it."""
        shared = read_only_owner(candles)
        if shared is None:
            return None
        owner, offset = shared
        base = offset - (int(candles["timestamp"][0]) - first) // self.step
        for segment in touching:
            if segment.offset_in(owner) != base + (segment.start - first) // self.step:
                return None
        # Pieces that touch or overlap at consistent offsets leave no hole between them in the owner.
        view: np.ndarray = owner[base : base + (last - first) // self.step]
        return view

    def _merge_following(self, segment: CandleSegment) -> None:
        position = self._segments.index(segment)
        if position + 1 < len(self._segments) and self._segments[position + 1].start <= segment.end:
            following = self._segments.pop(position + 1)
            self._starts.pop(position + 1)
            tail = following.candles[following.index(segment.end) :] if following.end > segment.end else None
            if tail is not None and len(tail):
                segment.append(tail)
