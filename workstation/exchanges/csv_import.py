"""Import candles from a CSV of any layout into the candle store, refusing rows that are not valid candles.

The trader's file may name and order its columns freely (``Date,Open,High,Low,Close,Volume``,
``open_time;o;h;l;c;v`` …): `preview_csv` guesses which column holds what, `ColumnMapping` records the choice, and
`parse_candle_csv` checks every row. Errors name the file's line (the header is line 1), the column and the text
found there, so the trader can find the row in an editor. Nothing is written unless every row is valid, or the
trader asks for the rows before the first bad one.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, Self, TextIO

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from workstation.errors import WorkstationError
from workstation.exchanges.candle_store import CandleStore
from workstation.models.candles import CANDLE_DTYPE, CANDLE_FIELDS, candles_from_columns
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS, to_ms

__all__ = [
    "ColumnMapping",
    "CsvImportError",
    "CsvImportResult",
    "CsvParseResult",
    "CsvPreview",
    "CsvRowError",
    "TimeUnit",
    "import_candle_csv",
    "parse_candle_csv",
    "preview_csv",
]

#: How the time column is written: epoch milliseconds, epoch seconds, or ISO 8601 text (UTC unless it says).
TimeUnit = Literal["ms", "s", "iso"]

#: Rows checked together; bounds the memory a file of millions of rows needs.
CHUNK_ROWS = 100_000
#: Rows numpy parses at a time on the fast path (about 20 ms of work each).
FAST_CHUNK_ROWS = 50_000
#: Errors kept with their details; beyond them only the count grows (a wrong mapping makes every row bad).
MAX_REPORTED_ERRORS = 1_000
#: Errors a `CsvImportError` message lists before "and N more errors".
MESSAGE_ERRORS = 10

#: Header names (normalised: lower case, words joined by ``_``, units in brackets dropped) per field, best first.
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "timestamp": (
        "timestamp",
        "open_time",
        "opentime",
        "time",
        "date",
        "datetime",
        "date_time",
        "time_open",
        "unix",
        "ts",
        "t",
    ),
    "open": ("open", "open_price", "o"),
    "high": ("high", "high_price", "h"),
    "low": ("low", "low_price", "l"),
    "close": ("close", "close_price", "last", "c"),
    "volume": ("volume", "vol", "base_volume", "volume_base", "v"),
}

_DELIMITERS = (",", ";", "\t", "|")
_PRICE_FIELDS = ("open", "high", "low", "close")
# 9999-12-31T23:59:59.999Z + 1 ms: every time an ISO string can show.
_END_OF_TIME_MS = 253_402_300_800_000
_TIME_UNIT_WORDS: dict[str, str] = {
    "ms": "a time in epoch milliseconds",
    "s": "a time in epoch seconds",
    "iso": "an ISO 8601 time",
}


class ColumnMapping(BaseModel):
    """Which header column holds each candle field, and how the time column is written.

    Validated with ``context={"header": [...]}`` (see `for_header`), every column must be one of the header's.
    Two fields may not share a column.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timestamp: str = Field(min_length=1, title="Time", description="The column with the candle's open time")
    open: str = Field(min_length=1, title="Open", description="The column with the open price")
    high: str = Field(min_length=1, title="High", description="The column with the highest price")
    low: str = Field(min_length=1, title="Low", description="The column with the lowest price")
    close: str = Field(min_length=1, title="Close", description="The column with the close price")
    volume: str = Field(min_length=1, title="Volume", description="The column with the traded volume")
    time_unit: TimeUnit = Field(
        default="ms",
        title="Time format",
        description="Epoch milliseconds (ms), epoch seconds (s) or ISO 8601 text (iso; UTC unless it says)",
    )

    @model_validator(mode="after")
    def _columns_fit(self, info: ValidationInfo) -> Self:
        seen: dict[str, str] = {}
        for field in CANDLE_FIELDS:
            column = getattr(self, field)
            if column in seen:
                raise ValueError(f"{field}: column {column!r} is already the {seen[column]} column")
            seen[column] = field
        header = info.context.get("header") if isinstance(info.context, dict) else None
        if header is not None:
            self.check_header(header)
        return self

    @classmethod
    def for_header(cls, header: Sequence[str], **values: str) -> ColumnMapping:
        """Validate ``values`` (field name to column name, and ``time_unit``) against ``header``.

        Raises
        ------
        pydantic.ValidationError
            A ``ValueError`` naming the field and the column that is not in the header.
        """
        return cls.model_validate(values, context={"header": list(header)})

    def check_header(self, header: Sequence[str]) -> None:
        """Raise ``ValueError`` naming the first field whose column is not in ``header``."""
        for field in CANDLE_FIELDS:
            column = getattr(self, field)
            if column not in header:
                raise ValueError(f"{field}: column {column!r} is not in the header ({', '.join(header)})")

    def columns(self) -> tuple[str, ...]:
        """Return the columns of ``timestamp, open, high, low, close, volume``, in that order."""
        return tuple(getattr(self, field) for field in CANDLE_FIELDS)


class CsvPreview(BaseModel):
    """The first rows of a CSV as text, and the column mapping and interval guessed from them.

    ``row_lines`` are the file's line numbers of ``rows`` (blank lines are skipped); ``interval`` is the most
    frequent step between the rows' times, None when that is no candle interval.
    """

    model_config = ConfigDict(frozen=True)

    header: list[str]
    rows: list[list[str]]
    row_lines: list[int]
    mapping: ColumnMapping
    delimiter: str
    interval: str | None = None


class CsvRowError(BaseModel):
    """Why one row of the file is not a valid candle.

    ``row`` is the file's line number (the header is line 1); ``column`` the header name of the offending cell, or
    ``""`` when the row as a whole is wrong (its number of columns), then ``value`` is the whole line.
    """

    model_config = ConfigDict(frozen=True)

    row: int
    column: str
    value: str
    reason: str

    @property
    def message(self) -> str:
        """Return the error as the trader reads it: ``line 7: close 'abc' is not a number``."""
        if self.column:
            return f"line {self.row}: {self.column} {self.value!r} {self.reason}"
        return f"line {self.row}: {self.reason}"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, eq=False)
class CsvParseResult:
    """The checked content of a candle CSV.

    Attributes
    ----------
    candles
        The ``CANDLE_DTYPE`` candles of the rows before the first bad row (all of them when none is bad).
    errors
        The first `MAX_REPORTED_ERRORS` errors in file order.
    total_rows
        Data rows in the file (blank lines are not rows).
    error_count
        Every error found, also those beyond ``errors``.
    """

    candles: np.ndarray
    errors: list[CsvRowError]
    total_rows: int
    error_count: int

    @property
    def first_bad_row(self) -> int | None:
        """Return the line of the first bad row, None when every row is a valid candle."""
        return self.errors[0].row if self.errors else None


class CsvImportResult(BaseModel):
    """What an import wrote: ``imported`` candles, and the errors of the rows left out (valid prefix only)."""

    model_config = ConfigDict(frozen=True)

    imported: int
    errors: list[CsvRowError]
    error_count: int = 0


class CsvImportError(WorkstationError, ValueError):
    """A CSV was not imported because some of its rows are not valid candles, or it has none; nothing was written.

    The message lists the first errors (``line 7: close 'abc' is not a number``) and counts the others;
    ``errors`` holds the first `MAX_REPORTED_ERRORS` of them, ``error_count`` counts all of them and
    ``valid_rows`` the rows before the first bad one (what ``valid_prefix=True`` would import).
    """

    def __init__(
        self, message: str, errors: Sequence[CsvRowError] = (), error_count: int = 0, valid_rows: int = 0
    ) -> None:
        super().__init__(message)
        self.errors = list(errors)
        self.error_count = error_count
        self.valid_rows = valid_rows

    @classmethod
    def for_rows(
        cls,
        path: Path,
        errors: Sequence[CsvRowError],
        error_count: int,
        valid_rows: int,
        *,
        outcome: str = "nothing was imported",
    ) -> CsvImportError:
        """Return the error that refuses ``path`` for its bad rows; ``outcome`` says what did not happen."""
        lines = [f"{path.name}: {_count(error_count, 'error')}, {outcome}"]
        lines += [error.message for error in errors[:MESSAGE_ERRORS]]
        others = error_count - min(len(errors), MESSAGE_ERRORS)
        if others:
            lines.append(f"and {others} more {'error' if others == 1 else 'errors'}")
        return cls("\n".join(lines), errors, error_count, valid_rows)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def preview_csv(path: str | os.PathLike[str], rows: int = 20) -> CsvPreview:
    """Read the header and the first ``rows`` data rows of a CSV and guess its column mapping.

    Columns are matched by name, ignoring case, spaces and a unit in brackets (``Volume (BTC)``): ``timestamp``,
    ``open_time``, ``time``, ``date`` … for the time, ``open``/``o`` … for the prices, ``volume``/``vol`` … for the
    volume. Fields no name matches take the remaining columns from the left. The time format is guessed from the
    first row: an integer of 11 digits or more is milliseconds, a smaller number seconds, anything else ISO text.
    The delimiter is the most frequent of ``, ; tab |`` in the header. The interval is the most frequent step
    between the rows' times.

    Parameters
    ----------
    path
        The CSV file; its first line must be a header.
    rows
        How many data rows to return (blank lines are skipped).

    Returns
    -------
    CsvPreview
        The header, the rows as text and the guessed mapping.

    Raises
    ------
    ValueError
        If the file is empty, its first line looks like data, or the header has fewer than six columns.
    """
    csv_path = Path(path)
    with _text_file(csv_path) as file:
        header, delimiter, reader = _open_rows(csv_path, file)
        first_rows, row_lines = _data_rows(reader, rows)
    names = {name for name in header if name}
    if len(names) < len(CANDLE_FIELDS):
        raise ValueError(
            f"{csv_path}: the header has {_count(len(names), 'named column')} ({', '.join(header)}); "
            "a candle needs six: time, open, high, low, close and volume"
        )
    columns = _guess_columns(header)
    time_column = header.index(columns["timestamp"])
    time_texts = [row[time_column] for row in first_rows if len(row) > time_column]
    time_unit = _guess_time_unit(time_texts[0] if time_texts else "")
    return CsvPreview(
        header=header,
        rows=first_rows,
        row_lines=row_lines,
        mapping=ColumnMapping.for_header(header, **columns, time_unit=time_unit),
        delimiter=delimiter,
        interval=_guess_interval(time_texts, time_unit),
    )


def parse_candle_csv(path: str | os.PathLike[str], mapping: ColumnMapping, interval: str) -> CsvParseResult:
    """Read and check every row of a candle CSV.

    Each row is checked for its number of columns; a time and numbers that parse; finite numbers;
    positive prices and a volume not below zero; ``high`` at or above ``open`` and ``close``, ``low`` at or below
    them; a time on the interval's grid (epoch-aligned); a time after the previous row's. A row whose numbers are
    bad is not checked further for prices, so one typo makes one error.

    Parameters
    ----------
    path
        The CSV; its first line is the header the mapping names.
    mapping
        Which column holds each field and how the time is written.
    interval
        The candle interval of the file (``1m`` … ``1d``).

    Returns
    -------
    CsvParseResult
        The valid prefix as candles, the errors with their line numbers and the number of data rows.

    Raises
    ------
    ValueError
        For an unknown interval, an empty file, a header that lacks a mapped column or looks like data.
    """
    step = _interval_step(interval)
    csv_path = Path(path)
    with _text_file(csv_path) as file:
        header, delimiter, reader = _open_rows(csv_path, file)
        try:
            mapping.check_header(header)
        except ValueError as error:
            raise ValueError(f"{csv_path}: {error}") from None
        indices = [header.index(column) for column in mapping.columns()]
        if reader.line_num == 1:
            candles = _read_uniform(csv_path, delimiter, len(header), indices, mapping.time_unit, step)
            if candles is not None:
                return CsvParseResult(candles, [], len(candles), 0)
        checker = _RowChecker(mapping, interval, step)
        for chunk in _chunks(reader, len(header), indices, delimiter):
            checker.check(chunk)
    return checker.result()


def import_candle_csv(
    store: CandleStore,
    exchange: str,
    symbol: str,
    interval: str,
    path: str | os.PathLike[str],
    mapping: ColumnMapping,
    *,
    valid_prefix: bool = False,
) -> CsvImportResult:
    """Check a candle CSV and write its candles to ``store`` as one series, all or nothing.

    The series is recorded as covered from the first candle to the end of the last one, so steps without a row
    inside that span are gaps (the market had no trades), not missing data to download.

    Parameters
    ----------
    store
        The candle store to write to.
    exchange, symbol, interval
        The series the candles belong to (an exchange name of the trader's choosing, ``csv`` by default in the
        window).
    path
        The CSV.
    mapping
        Which column holds each field and how the time is written.
    valid_prefix
        Import the rows before the first bad row instead of refusing the file.

    Returns
    -------
    CsvImportResult
        The number of candles written, and the errors of the rows left out.

    Raises
    ------
    CsvImportError
        If a row is bad and ``valid_prefix`` is false, or the file has no rows; nothing is written.
    ValueError
        For an empty exchange or symbol, an unknown interval or a header that lacks a mapped column.
    """
    for field, value in (("exchange", exchange), ("symbol", symbol)):
        if not value.strip():
            raise ValueError(f"{field}: {value!r} is empty; name the series the candles belong to")
    csv_path = Path(path)
    parsed = parse_candle_csv(csv_path, mapping, interval)
    if parsed.error_count and not valid_prefix:
        raise CsvImportError.for_rows(csv_path, parsed.errors, parsed.error_count, len(parsed.candles))
    if parsed.total_rows == 0:
        raise CsvImportError(f"{csv_path.name}: no candle rows after the header, nothing was imported")
    candles = parsed.candles
    if len(candles):
        end = int(candles["timestamp"][-1]) + _interval_step(interval)
        store.write(exchange, symbol, interval, candles, covered=(int(candles["timestamp"][0]), end))
    return CsvImportResult(imported=len(candles), errors=parsed.errors, error_count=parsed.error_count)


# ---------------------------------------------------------------------------------------------------------------
# Reading rows


class _LineReader(Protocol):
    """A ``csv.reader``: rows of cells, and the file line the last row ended on."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


def _interval_step(interval: str) -> int:
    minutes = CANDLE_INTERVAL_MINUTES.get(interval)
    if minutes is None:
        raise ValueError(
            f"interval: {interval!r} is not a candle interval; expected one of {', '.join(CANDLE_INTERVAL_MINUTES)}"
        )
    return minutes * MINUTE_MS


def _open_rows(path: Path, file: Iterable[str]) -> tuple[list[str], str, _LineReader]:
    """Return the stripped header, the delimiter and a reader positioned after the header."""
    lines = iter(file)
    first_line = next(lines, "")
    if not first_line.strip():
        raise ValueError(f"{path}: line 1 is empty; expected a header such as {','.join(CANDLE_FIELDS)}")
    delimiter = max(_DELIMITERS, key=first_line.count)
    # The reader counts the lines it reads; handing it the header too keeps its numbers the file's line numbers.
    reader = csv.reader(itertools.chain([first_line], lines), delimiter=delimiter)
    header = [cell.strip() for cell in next(reader)]
    if all(_is_number(cell) for cell in header):
        raise ValueError(
            f"{path}: line 1 ({first_line.strip()!r}) looks like data, not a header; "
            f"add a header line such as {','.join(CANDLE_FIELDS)}"
        )
    return header, delimiter, reader


def _is_blank(row: list[str]) -> bool:
    # Most rows start with a time, so the first cell settles it without looking at the others.
    return not row or (not row[0].strip() and not any(cell.strip() for cell in row))


def _data_rows(reader: _LineReader, limit: int) -> tuple[list[list[str]], list[int]]:
    """Return the first ``limit`` non-blank rows and the file line each ends on."""
    rows: list[list[str]] = []
    lines: list[int] = []
    for row in reader:
        if len(rows) == limit:
            break
        if not _is_blank(row):
            rows.append(row)
            lines.append(reader.line_num)
    return rows, lines


@contextmanager
def _text_file(path: Path) -> Iterator[TextIO]:
    """Open a CSV as UTF-8 text (a byte order mark is skipped), turning a decoding failure into a clear error."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            yield file
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error.reason}); save the file as UTF-8 and try again") from None


@dataclass
class _Chunk:
    """Up to `CHUNK_ROWS` data rows: those of the header's width as columns of text, the others as errors."""

    rows: int
    lines: np.ndarray
    cells: list[list[str]]
    width_errors: list[CsvRowError]
    width_error_count: int


def _chunks(reader: _LineReader, width: int, indices: list[int], delimiter: str) -> Iterator[_Chunk]:
    """Yield the non-blank rows in chunks of `CHUNK_ROWS`, numbered by the file line each ends on."""
    while True:
        lines: list[int] = []
        kept: list[list[str]] = []
        width_errors: list[CsvRowError] = []
        width_error_count = 0
        count = 0
        for row in reader:
            if not row or (not row[0].strip() and _is_blank(row)):
                continue
            count += 1
            if len(row) == width:
                lines.append(reader.line_num)
                kept.append(row)
            else:
                width_error_count += 1
                if len(width_errors) < MAX_REPORTED_ERRORS:
                    reason = f"has {_count(len(row), 'column')}, the header has {width}"
                    error = CsvRowError(row=reader.line_num, column="", value=delimiter.join(row), reason=reason)
                    width_errors.append(error)
            if count == CHUNK_ROWS:
                break
        if count == 0:
            return
        cells = [[row[index] for row in kept] for index in indices]
        yield _Chunk(count, np.array(lines, dtype=np.int64), cells, width_errors, width_error_count)


# ---------------------------------------------------------------------------------------------------------------
# The fast path: a file whose rows are all valid candles


def _read_uniform(
    path: Path, delimiter: str, width: int, indices: list[int], time_unit: TimeUnit, step: int
) -> np.ndarray | None:
    """Return the candles of a file that numpy can read whole, None when any row needs the row-by-row check.

    numpy's reader is several times faster than the csv module, but it cannot say which line a bad row is on
    when a file has blank lines or quoted cells. So it reads only files without quotes whose every line has the
    header's number of cells, and a file with any invalid row is left to `_RowChecker` for its errors.
    """
    if time_unit == "iso":
        return None
    rows = _uniform_row_count(path, delimiter, width)
    if rows is None:
        return None
    candles = np.empty(rows, dtype=CANDLE_DTYPE)
    filled = 0
    try:
        with path.open(encoding="utf-8-sig") as file:
            file.readline()
            while filled < rows:
                # Chunks give the GUI thread the interpreter between them: numpy holds it while it parses.
                chunk = np.loadtxt(
                    file,
                    delimiter=delimiter,
                    usecols=indices,
                    dtype=CANDLE_DTYPE,
                    comments=None,
                    max_rows=FAST_CHUNK_ROWS,
                    ndmin=1,
                )
                if len(chunk) == 0:
                    return None
                candles[filled : filled + len(chunk)] = chunk
                filled += len(chunk)
    except ValueError:  # a cell numpy cannot read, or text that is not UTF-8
        return None
    timestamps = candles["timestamp"]
    if time_unit == "s":
        if not ((timestamps >= 0) & (timestamps < _END_OF_TIME_MS // 1000)).all():
            return None
        timestamps *= 1000
    return candles if _all_valid(candles, step) else None


def _uniform_row_count(path: Path, delimiter: str, width: int) -> int | None:
    """Return the number of lines after the header if none has a quote and each has ``width`` cells, else None."""
    separator, quote, newline = ord(delimiter), ord('"'), ord("\n")
    rows = 0
    rest = b""
    with path.open("rb") as file:
        file.readline()
        for block in iter(lambda: file.read(1 << 22), b""):
            data = rest + block
            end = data.rfind(b"\n") + 1
            lines, rest = data[:end], data[end:]
            if not _uniform_lines(np.frombuffer(lines, dtype=np.uint8), separator, quote, newline, width):
                return None
            rows += lines.count(b"\n")
    if rest:
        if not _uniform_lines(np.frombuffer(rest + b"\n", dtype=np.uint8), separator, quote, newline, width):
            return None
        rows += 1
    return rows


def _uniform_lines(text: np.ndarray, separator: int, quote: int, newline: int, width: int) -> bool:
    if (text == quote).any():
        return False
    ends = np.flatnonzero(text == newline)
    separators_before = np.searchsorted(np.flatnonzero(text == separator), ends)
    return bool((np.diff(separators_before, prepend=0) == width - 1).all())


def _all_valid(candles: np.ndarray, step: int) -> bool:
    """Tell whether every candle passes every check of `_RowChecker`."""
    timestamps = candles["timestamp"]
    open_, high, low, close, volume = (candles[field] for field in CANDLE_FIELDS[1:])
    with np.errstate(invalid="ignore"):
        prices_sound = (open_ > 0) & (high > 0) & (low > 0) & (close > 0) & np.isfinite(high) & (volume >= 0)
        finite = np.isfinite(open_) & np.isfinite(low) & np.isfinite(close) & np.isfinite(volume)
        ordered = (high >= np.maximum(open_, close)) & (low <= np.minimum(open_, close))
    return bool(
        (timestamps >= 0).all()
        and (timestamps < _END_OF_TIME_MS).all()
        and (timestamps % step == 0).all()
        and (np.diff(timestamps) > 0).all()
        and (prices_sound & finite & ordered).all()
    )


# ---------------------------------------------------------------------------------------------------------------
# Checking rows


@dataclass
class _Finding:
    """The rows of a chunk that fail one check, and how to word the failure of one of them."""

    bad: np.ndarray
    order: int
    column: str
    texts: list[str]
    reason: Callable[[int], str]


class _RowChecker:
    """Check chunks of rows in file order, carrying the previous row's time from one chunk to the next."""

    def __init__(self, mapping: ColumnMapping, interval: str, step: int) -> None:
        self._names = mapping.columns()
        self._time_unit = mapping.time_unit
        self._interval = interval
        self._step = step
        self._candles: list[np.ndarray] = []
        self._errors: list[CsvRowError] = []
        self._error_count = 0
        self._total_rows = 0
        self._previous: tuple[int, int] | None = None  # (time, line) of the last row with a usable time
        self._first_bad_line: int | None = None

    def result(self) -> CsvParseResult:
        candles = np.concatenate(self._candles) if self._candles else np.empty(0, dtype=CANDLE_DTYPE)
        return CsvParseResult(candles, self._errors, self._total_rows, self._error_count)

    def check(self, chunk: _Chunk) -> None:
        self._total_rows += chunk.rows
        time_texts, *number_texts = chunk.cells
        times, time_read, time_in_range = _parse_times(time_texts, self._time_unit)
        timed = time_read & time_in_range
        findings = [
            self._finding(~time_read, 0, time_texts, f"is not {_TIME_UNIT_WORDS[self._time_unit]}"),
            self._finding(time_read & ~time_in_range, 0, time_texts, "is outside the years 1970 to 9999"),
        ]
        numbers: list[np.ndarray] = []
        sound = np.ones(len(chunk.lines), dtype=bool)
        for position, texts in enumerate(number_texts, start=1):
            values, read = _parse_numbers(texts)
            finite = np.isfinite(values)
            if CANDLE_FIELDS[position] == "volume":
                out_of_range, range_reason = finite & (values < 0), "is a negative volume"
            else:
                out_of_range, range_reason = finite & (values <= 0), "is not a positive price"
            findings += [
                self._finding(~read, position, texts, "is not a number"),
                self._finding(read & ~finite, position, texts, "is not a finite number"),
                self._finding(out_of_range, position, texts, range_reason),
            ]
            sound &= finite & ~out_of_range
            numbers.append(values)
        open_, high, low, close, _ = numbers
        with np.errstate(invalid="ignore"):
            high_short = sound & (high < np.maximum(open_, close))
            low_over = sound & (low > np.minimum(open_, close))
        findings += [
            _Finding(np.flatnonzero(high_short), 2, self._names[2], number_texts[1], self._below(open_, close)),
            _Finding(np.flatnonzero(low_over), 3, self._names[3], number_texts[2], self._above(open_, close)),
            self._finding(timed & (times % self._step != 0), 0, time_texts, f"is not on the {self._interval} grid"),
            self._order_finding(times, timed, chunk.lines, time_texts),
        ]
        self._collect(chunk, findings)
        self._keep_valid(chunk.lines, times, numbers)

    def _finding(self, mask: np.ndarray, order: int, texts: list[str], reason: str) -> _Finding:
        return _Finding(np.flatnonzero(mask), order, self._names[order], texts, lambda _row: reason)

    def _below(self, open_: np.ndarray, close: np.ndarray) -> Callable[[int], str]:
        def reason(row: int) -> str:
            name, price = (1, open_[row]) if open_[row] > close[row] else (4, close[row])
            return f"is below the {self._names[name]} {_number_text(float(price))}"

        return reason

    def _above(self, open_: np.ndarray, close: np.ndarray) -> Callable[[int], str]:
        def reason(row: int) -> str:
            name, price = (1, open_[row]) if open_[row] < close[row] else (4, close[row])
            return f"is above the {self._names[name]} {_number_text(float(price))}"

        return reason

    def _order_finding(self, times: np.ndarray, timed: np.ndarray, lines: np.ndarray, texts: list[str]) -> _Finding:
        """Find the rows whose time is not after the previous row's with a usable time (this chunk or the last)."""
        rows = np.flatnonzero(timed)
        sequence_times, sequence_lines = times[rows], lines[rows]
        if self._previous is not None:
            sequence_times = np.concatenate(([self._previous[0]], sequence_times))
            sequence_lines = np.concatenate(([self._previous[1]], sequence_lines))
        offset = 0 if self._previous is None else 1
        steps = np.diff(sequence_times)
        late = np.flatnonzero(steps <= 0)
        reasons = {
            int(rows[at + 1 - offset]): (
                f"{'repeats' if steps[at] == 0 else 'is before'} the time of line {int(sequence_lines[at])}"
            )
            for at in late.tolist()
        }
        if len(rows):
            self._previous = (int(times[rows[-1]]), int(lines[rows[-1]]))
        return _Finding(np.array(sorted(reasons), dtype=np.int64), 0, self._names[0], texts, reasons.__getitem__)

    def _collect(self, chunk: _Chunk, findings: list[_Finding]) -> None:
        room = MAX_REPORTED_ERRORS - len(self._errors)
        candidates = [(error.row, -1, error) for error in chunk.width_errors]
        first_lines = [error.row for error in chunk.width_errors[:1]]
        count = chunk.width_error_count
        for finding in findings:
            if not len(finding.bad):
                continue
            count += len(finding.bad)
            first_lines.append(int(chunk.lines[finding.bad[0]]))
            # The first `room` rows of each check hold the first `room` errors of the chunk.
            for row in finding.bad[: max(room, 0)].tolist():
                line = int(chunk.lines[row])
                error = CsvRowError(
                    row=line, column=finding.column, value=finding.texts[row], reason=finding.reason(row)
                )
                candidates.append((line, finding.order, error))
        if first_lines and self._first_bad_line is None:
            self._first_bad_line = min(first_lines)
        self._error_count += count
        if room > 0:
            candidates.sort(key=lambda candidate: candidate[:2])
            self._errors.extend(error for _, _, error in candidates[:room])

    def _keep_valid(self, lines: np.ndarray, times: np.ndarray, numbers: list[np.ndarray]) -> None:
        """Keep the candles of the rows before the first bad row (lines rise within a chunk)."""
        keep = len(lines) if self._first_bad_line is None else int(np.searchsorted(lines, self._first_bad_line))
        if keep:
            self._candles.append(candles_from_columns(times[:keep], *(values[:keep] for values in numbers)))


def _number_text(value: float) -> str:
    """Return ``value`` as the shortest text that reads back to it, without a needless ``.0``."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_numbers(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return the numbers of ``texts`` (NaN where unreadable) and which of them were read."""
    try:
        return np.fromiter(map(float, texts), dtype=np.float64, count=len(texts)), np.ones(len(texts), dtype=bool)
    except ValueError:
        pass
    values = np.empty(len(texts), dtype=np.float64)
    read = np.ones(len(texts), dtype=bool)
    for index, text in enumerate(texts):
        try:
            values[index] = float(text)
        except ValueError:
            values[index] = math.nan
            read[index] = False
    return values, read


def _parse_times(texts: list[str], unit: TimeUnit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return epoch ms per text, which texts were read, and which of those lie in the years 1970 to 9999."""
    count = len(texts)
    if unit != "iso":
        scale = 1000 if unit == "s" else 1
        try:
            integers = np.fromiter(map(int, texts), dtype=np.int64, count=count)
        except (ValueError, OverflowError):
            pass
        else:
            in_range = (integers >= 0) & (integers < _END_OF_TIME_MS // scale)
            return np.where(in_range, integers, 0) * scale, np.ones(count, dtype=bool), in_range
    read_one = _read_iso if unit == "iso" else _read_seconds if unit == "s" else _read_milliseconds
    times = np.zeros(count, dtype=np.int64)
    read = np.zeros(count, dtype=bool)
    in_range = np.zeros(count, dtype=bool)
    for index, text in enumerate(texts):
        moment = read_one(text)
        if moment is None:
            continue
        read[index] = True
        if 0 <= moment < _END_OF_TIME_MS:
            in_range[index] = True
            times[index] = moment
    return times, read, in_range


def _read_milliseconds(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    # Spreadsheets write integers as 1704067200000.0; a fraction of a millisecond is no candle time.
    return int(number) if number.is_integer() else None


def _read_seconds(text: str) -> int | None:
    try:
        return int(text) * 1000
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return round(number * 1000) if math.isfinite(number) else None


def _read_iso(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        # Exported candles without an offset are UTC far more often than the exporter's local time.
        moment = moment.replace(tzinfo=UTC)
    return to_ms(moment)


# ---------------------------------------------------------------------------------------------------------------
# Guessing the mapping

_BRACKETED = re.compile(r"[\(\[].*?[\)\]]")
_SEPARATORS = re.compile(r"[\s\-.]+")


def _normalised(name: str) -> str:
    return _SEPARATORS.sub("_", _BRACKETED.sub("", name).strip().strip("\"'").casefold()).strip("_")


def _guess_columns(header: list[str]) -> dict[str, str]:
    """Return a column per field: by name where one matches, else the leftmost columns nobody took."""
    normalised = [_normalised(name) for name in header]
    chosen: dict[str, str] = {}
    taken: set[int] = set()
    for field, names in HEADER_NAMES.items():
        for name in names:
            matches = [index for index, column in enumerate(normalised) if column == name and index not in taken]
            if matches:
                taken.add(matches[0])
                chosen[field] = header[matches[0]]
                break
    free = (
        index
        for index in range(len(header))
        if index not in taken and header[index] and header[index] not in chosen.values()
    )
    for field in CANDLE_FIELDS:
        if field not in chosen:
            index = next(free)
            taken.add(index)
            chosen[field] = header[index]
    return {field: chosen[field] for field in CANDLE_FIELDS}


def _guess_interval(texts: list[str], unit: TimeUnit) -> str | None:
    times, read, in_range = _parse_times(texts, unit)
    steps = np.diff(times[read & in_range])
    steps = steps[steps > 0]
    if not len(steps):
        return None
    values, counts = np.unique(steps, return_counts=True)
    usual = int(values[np.argmax(counts)])
    return next((name for name, minutes in CANDLE_INTERVAL_MINUTES.items() if minutes * MINUTE_MS == usual), None)


def _guess_time_unit(text: str) -> TimeUnit:
    try:
        number = float(text)
    except ValueError:
        return "iso"
    # 10^11 ms is 1973, 10^11 s the year 5138: candle files fall clearly on one side.
    return "ms" if abs(number) >= 1e11 else "s"
