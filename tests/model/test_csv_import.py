"""CSV import: guessed mappings, exact row errors with file line numbers, all-or-nothing writes, valid prefixes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from workstation.exchanges import csv_import
from workstation.exchanges.candle_store import CandleStore, StoredSeries
from workstation.exchanges.csv_import import (
    ColumnMapping,
    CsvImportError,
    CsvRowError,
    import_candle_csv,
    parse_candle_csv,
    preview_csv,
)
from workstation.models.candles import CANDLE_DTYPE

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
HEADER = "timestamp,open,high,low,close,volume"
PLAIN = ColumnMapping(timestamp="timestamp", open="open", high="high", low="low", close="close", volume="volume")


def candle_line(minute: int, open_: float = 100.0, *, timestamp: int | None = None) -> str:
    """Return a valid 1m candle row: high open + 2, low open - 1, close open + 1, volume 5."""
    stamp = T0 + minute * MINUTE if timestamp is None else timestamp
    return f"{stamp},{open_},{open_ + 2},{open_ - 1},{open_ + 1},5"


def expected_candles(minutes: list[int], opens: list[float]) -> np.ndarray:
    candles = np.empty(len(minutes), dtype=CANDLE_DTYPE)
    candles["timestamp"] = [T0 + minute * MINUTE for minute in minutes]
    candles["open"] = opens
    candles["high"] = [value + 2 for value in opens]
    candles["low"] = [value - 1 for value in opens]
    candles["close"] = [value + 1 for value in opens]
    candles["volume"] = 5.0
    return candles


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


#: Line 5 has close "abc"; line 9 repeats the time of line 8.
BAD_LINES = [
    HEADER,  # line 1
    candle_line(0, 100),  # 2
    candle_line(1, 101),  # 3
    candle_line(2, 102),  # 4
    f"{T0 + 3 * MINUTE},103,105,102,abc,5",  # 5
    candle_line(4, 104),  # 6
    candle_line(5, 105),  # 7
    candle_line(6, 106),  # 8
    candle_line(6, 107),  # 9
    candle_line(7, 108),  # 10
]
BAD_ERRORS = [
    CsvRowError(row=5, column="close", value="abc", reason="is not a number"),
    CsvRowError(row=9, column="timestamp", value=str(T0 + 6 * MINUTE), reason="repeats the time of line 8"),
]


def test_a_bad_csv_gives_each_bad_row_with_its_file_line(tmp_path: Path) -> None:
    result = parse_candle_csv(write(tmp_path / "bad.csv", BAD_LINES), PLAIN, "1m")

    assert result.errors == BAD_ERRORS
    assert result.error_count == 2
    assert result.total_rows == 9
    assert result.first_bad_row == 5
    np.testing.assert_array_equal(result.candles, expected_candles([0, 1, 2], [100, 101, 102]))
    assert [error.message for error in result.errors] == [
        "line 5: close 'abc' is not a number",
        f"line 9: timestamp '{T0 + 6 * MINUTE}' repeats the time of line 8",
    ]


def test_an_invalid_csv_is_refused_and_nothing_is_written(tmp_path: Path, store: CandleStore) -> None:
    path = write(tmp_path / "bad.csv", BAD_LINES)

    with pytest.raises(CsvImportError) as refused:
        import_candle_csv(store, "csv", "BTCUSDT", "1m", path, PLAIN)

    assert str(refused.value) == (
        "bad.csv: 2 errors, nothing was imported\n"
        "line 5: close 'abc' is not a number\n"
        f"line 9: timestamp '{T0 + 6 * MINUTE}' repeats the time of line 8"
    )
    assert refused.value.errors == BAD_ERRORS
    assert (refused.value.error_count, refused.value.valid_rows) == (2, 3)
    assert isinstance(refused.value, ValueError)
    assert store.series() == []
    assert store.missing("csv", "BTCUSDT", "1m", T0, T0 + 10 * MINUTE) == [(T0, T0 + 10 * MINUTE)]


def test_the_valid_prefix_imports_exactly_the_rows_before_the_first_bad_row(tmp_path: Path, store: CandleStore) -> None:
    path = write(tmp_path / "bad.csv", BAD_LINES)

    result = import_candle_csv(store, "csv", "BTCUSDT", "1m", path, PLAIN, valid_prefix=True)

    assert (result.imported, result.errors, result.error_count) == (3, BAD_ERRORS, 2)
    np.testing.assert_array_equal(
        store.read("csv", "BTCUSDT", "1m", T0, T0 + 60 * MINUTE), expected_candles([0, 1, 2], [100, 101, 102])
    )
    assert store.series() == [
        StoredSeries(
            exchange="csv",
            symbol="BTCUSDT",
            interval="1m",
            first=T0,
            last=T0 + 2 * MINUTE,
            count=3,
            gaps=[],
            covered=[(T0, T0 + 3 * MINUTE)],
        )
    ]


def test_a_valid_csv_is_imported_whole_and_its_missing_minutes_become_gaps(tmp_path: Path, store: CandleStore) -> None:
    path = write(tmp_path / "ok.csv", [HEADER, candle_line(0, 100), candle_line(1, 101), candle_line(4, 104)])

    result = import_candle_csv(store, "csv", "BTCUSDT", "1m", path, PLAIN)

    assert (result.imported, result.errors, result.error_count) == (3, [], 0)
    np.testing.assert_array_equal(
        store.read("csv", "BTCUSDT", "1m", T0, T0 + 5 * MINUTE), expected_candles([0, 1, 4], [100, 101, 104])
    )
    (series,) = store.series()
    assert (series.first, series.last, series.count) == (T0, T0 + 4 * MINUTE, 3)
    assert series.gaps == [(T0 + 2 * MINUTE, T0 + 4 * MINUTE)]
    assert store.missing("csv", "BTCUSDT", "1m", T0, T0 + 5 * MINUTE) == []


#: One bad row each (after a valid line 2): the row, then its error's column, value and reason.
ONE_FAULT_ROWS = [
    ("1704067260000,1,2,3", "", "1704067260000,1,2,3", "has 4 columns, the header has 6"),
    ("1704067260000,101,103,100,102,5,9", "", "1704067260000,101,103,100,102,5,9", "has 7 columns, the header has 6"),
    ("2024-01-01,101,103,100,102,5", "timestamp", "2024-01-01", "is not a time in epoch milliseconds"),
    ("1704067260000.5,101,103,100,102,5", "timestamp", "1704067260000.5", "is not a time in epoch milliseconds"),
    ("-60000,101,103,100,102,5", "timestamp", "-60000", "is outside the years 1970 to 9999"),
    ("1704067230000,101,103,100,102,5", "timestamp", "1704067230000", "is not on the 1m grid"),
    ("1704067140000,101,103,100,102,5", "timestamp", "1704067140000", "is before the time of line 2"),
    ("1704067260000,,103,100,102,5", "open", "", "is not a number"),
    ("1704067260000,101,nan,100,102,5", "high", "nan", "is not a finite number"),
    ("1704067260000,101,103,100,inf,5", "close", "inf", "is not a finite number"),
    ("1704067260000,101,103,0,102,5", "low", "0", "is not a positive price"),
    ("1704067260000,-101,103,100,102,5", "open", "-101", "is not a positive price"),
    ("1704067260000,101,103,100,102,-0.5", "volume", "-0.5", "is a negative volume"),
    ("1704067260000,101,101.5,100,102,5", "high", "101.5", "is below the close 102"),
    ("1704067260000,104,103.5,100,102,5", "high", "103.5", "is below the open 104"),
    ("1704067260000,101,103,101.5,102,5", "low", "101.5", "is above the open 101"),
    ("1704067260000,101,103,100.25,100.125,5", "low", "100.25", "is above the close 100.125"),
]


@pytest.mark.parametrize(("row", "column", "value", "reason"), ONE_FAULT_ROWS)
def test_each_check_names_the_line_column_value_and_reason(
    tmp_path: Path, row: str, column: str, value: str, reason: str
) -> None:
    path = write(tmp_path / "one.csv", [HEADER, candle_line(0, 100), row, candle_line(2, 102)])

    result = parse_candle_csv(path, PLAIN, "1m")

    assert result.errors == [CsvRowError(row=3, column=column, value=value, reason=reason)]
    assert (result.error_count, result.total_rows) == (1, 3)
    np.testing.assert_array_equal(result.candles, expected_candles([0], [100]))


def test_a_row_with_several_faults_reports_each_in_column_order(tmp_path: Path) -> None:
    path = write(tmp_path / "two.csv", [HEADER, candle_line(0, 100), "1704067230000,101,103,100,x,-1"])

    assert parse_candle_csv(path, PLAIN, "1m").errors == [
        CsvRowError(row=3, column="timestamp", value="1704067230000", reason="is not on the 1m grid"),
        CsvRowError(row=3, column="close", value="x", reason="is not a number"),
        CsvRowError(row=3, column="volume", value="-1", reason="is a negative volume"),
    ]


def test_blank_lines_are_skipped_but_counted_in_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.csv", [HEADER, candle_line(0, 100), "", "  ", candle_line(1, 101), "", "bad"])

    result = parse_candle_csv(path, PLAIN, "1m")

    assert result.errors == [CsvRowError(row=7, column="", value="bad", reason="has 1 column, the header has 6")]
    assert result.total_rows == 3
    np.testing.assert_array_equal(result.candles, expected_candles([0, 1], [100, 101]))


def test_seconds_and_iso_times_read_as_the_same_candles(tmp_path: Path) -> None:
    body = ["100,102,99,101,5", "101,103,100,102,5", "102,104,101,103,5"]
    seconds = [str((T0 + minute * MINUTE) // 1000) for minute in range(3)]
    iso = ["2024-01-01T00:00:00Z", "2024-01-01 00:01:00", "2024-01-01T02:02:00+02:00"]
    mapping = PLAIN.model_copy(update={"time_unit": "s"})
    by_seconds = parse_candle_csv(
        write(tmp_path / "s.csv", [HEADER] + [f"{t},{row}" for t, row in zip(seconds, body, strict=True)]),
        mapping,
        "1m",
    )
    by_iso = parse_candle_csv(
        write(tmp_path / "iso.csv", [HEADER] + [f"{t},{row}" for t, row in zip(iso, body, strict=True)]),
        PLAIN.model_copy(update={"time_unit": "iso"}),
        "1m",
    )

    expected = expected_candles([0, 1, 2], [100, 101, 102])
    for result in (by_seconds, by_iso):
        assert result.errors == []
        np.testing.assert_array_equal(result.candles, expected)


def test_a_wrong_time_format_names_the_format_expected(tmp_path: Path) -> None:
    path = write(tmp_path / "iso.csv", [HEADER, "2024-01-01T00:00:00Z,100,102,99,101,5", "yesterday,100,102,99,101,5"])

    assert parse_candle_csv(path, PLAIN.model_copy(update={"time_unit": "iso"}), "1m").errors == [
        CsvRowError(row=3, column="timestamp", value="yesterday", reason="is not an ISO 8601 time")
    ]
    assert parse_candle_csv(path, PLAIN.model_copy(update={"time_unit": "s"}), "1m").errors[0] == CsvRowError(
        row=2, column="timestamp", value="2024-01-01T00:00:00Z", reason="is not a time in epoch seconds"
    )


def test_the_preview_guesses_columns_time_format_and_interval_from_any_header(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "\ufeffTrades;Date;Open Price;HIGH;low;Close;Volume (BTC)\n"
        "7;2024-01-01 00:00;100;102;99;101;5\n"
        "\n"
        "9;2024-01-01 01:00;101;103;100;102;6\n"
        "3;2024-01-01 02:00;102;104;101;103;7\n",
        encoding="utf-8",
    )

    preview = preview_csv(path, rows=2)

    assert preview.header == ["Trades", "Date", "Open Price", "HIGH", "low", "Close", "Volume (BTC)"]
    assert preview.rows == [
        ["7", "2024-01-01 00:00", "100", "102", "99", "101", "5"],
        ["9", "2024-01-01 01:00", "101", "103", "100", "102", "6"],
    ]
    assert preview.row_lines == [2, 4]
    assert preview.delimiter == ";"
    assert preview.interval == "1h"
    assert preview.mapping == ColumnMapping(
        timestamp="Date",
        open="Open Price",
        high="HIGH",
        low="low",
        close="Close",
        volume="Volume (BTC)",
        time_unit="iso",
    )
    result = parse_candle_csv(path, preview.mapping, "1h")
    assert (result.errors, len(result.candles), result.total_rows) == ([], 3, 3)


@pytest.mark.parametrize(
    ("first_line", "second_line", "expected"),
    [
        ("open_time,o,h,l,c,v", "1704067200000,1,2,1,1,1", ("open_time", "o", "h", "l", "c", "v", "ms")),
        ("Time,Open,High,Low,Close,Vol", "1704067200,1,2,1,1,1", ("Time", "Open", "High", "Low", "Close", "Vol", "s")),
        # No name matches: the columns are taken from the left.
        ("one,two,three,four,five,six", "2024-01-01,1,2,1,1,1", ("one", "two", "three", "four", "five", "six", "iso")),
        ("price,open,a,high,b,low,c", "1,1,1,1,1,1,1", ("price", "open", "high", "low", "c", "a", "s")),
    ],
)
def test_the_guess_by_name_then_by_position(
    tmp_path: Path, first_line: str, second_line: str, expected: tuple[str, ...]
) -> None:
    mapping = preview_csv(write(tmp_path / "guess.csv", [first_line, second_line])).mapping
    assert (*mapping.columns(), mapping.time_unit) == expected


def test_a_mapping_names_the_field_and_column_that_do_not_fit_the_header() -> None:
    header = ["Date", "Open", "High", "Low", "Close", "Volume"]
    columns = {"timestamp": "Date", "open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}
    not_in_header = r"close: column 'Price' is not in the header \(Date, Open, High, Low, Close, Volume\)"
    with pytest.raises(ValidationError, match=not_in_header):
        ColumnMapping.for_header(header, **{**columns, "close": "Price"})
    with pytest.raises(ValidationError, match="close: column 'Open' is already the open column"):
        ColumnMapping.for_header(header, **{**columns, "close": "Open"})
    with pytest.raises(ValidationError, match="time_unit"):
        ColumnMapping.model_validate({**PLAIN.model_dump(), "time_unit": "minutes"})
    assert ColumnMapping.for_header(header, **columns).time_unit == "ms"


def test_files_that_cannot_be_read_are_refused_with_the_reason(tmp_path: Path, store: CandleStore) -> None:
    with pytest.raises(
        ValueError, match=r"close: column 'close' is not in the header \(timestamp, open, high, low, last, volume\)"
    ):
        parse_candle_csv(write(tmp_path / "other.csv", ["timestamp,open,high,low,last,volume"]), PLAIN, "1m")
    with pytest.raises(ValueError, match=r"line 1 \('1704067200000,1,2,1,1,1'\) looks like data, not a header"):
        preview_csv(write(tmp_path / "headless.csv", ["1704067200000,1,2,1,1,1"]))
    with pytest.raises(ValueError, match="line 1 is empty"):
        preview_csv(write(tmp_path / "empty.csv", [""]))
    with pytest.raises(ValueError, match=r"the header has 5 named columns \(time, open, high, low, close\)"):
        preview_csv(write(tmp_path / "five.csv", ["time,open,high,low,close"]))
    with pytest.raises(ValueError, match="interval: '7m' is not a candle interval"):
        parse_candle_csv(write(tmp_path / "ok.csv", [HEADER, candle_line(0)]), PLAIN, "7m")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + b"\n" + candle_line(0).encode() + b"\n\xe9\n")
    with pytest.raises(ValueError, match="not UTF-8 text"):
        parse_candle_csv(latin, PLAIN, "1m")
    with pytest.raises(
        CsvImportError, match=r"^only_header\.csv: no candle rows after the header, nothing was imported$"
    ):
        import_candle_csv(store, "csv", "BTCUSDT", "1m", write(tmp_path / "only_header.csv", [HEADER]), PLAIN)
    with pytest.raises(ValueError, match="symbol: ' ' is empty"):
        import_candle_csv(store, "csv", " ", "1m", tmp_path / "ok.csv", PLAIN)
    assert store.series() == []


def test_the_message_lists_ten_errors_and_counts_the_rest(tmp_path: Path, store: CandleStore) -> None:
    lines = [HEADER, candle_line(0)] + [f"{T0 + minute * MINUTE},1,2,1,x,1" for minute in range(1, 13)]

    with pytest.raises(CsvImportError) as refused:
        import_candle_csv(store, "csv", "BTCUSDT", "1m", write(tmp_path / "many.csv", lines), PLAIN)

    message = str(refused.value).splitlines()
    assert message[0] == "many.csv: 12 errors, nothing was imported"
    assert message[1:] == [f"line {line}: close 'x' is not a number" for line in range(3, 13)] + ["and 2 more errors"]


def test_errors_beyond_the_reported_ones_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_import, "MAX_REPORTED_ERRORS", 3)
    lines = [HEADER] + [f"{T0 + minute * MINUTE},1,2,1,x,1" for minute in range(5)]

    result = parse_candle_csv(write(tmp_path / "many.csv", lines), PLAIN, "1m")

    assert [error.row for error in result.errors] == [2, 3, 4]
    assert result.error_count == 5


def test_rows_are_checked_the_same_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With chunks of 3 rows, lines 2-4, 5-7 and 8-9 are checked together: line 8 repeats line 7 of the chunk before.
    lines = (
        [HEADER] + [candle_line(minute, 100 + minute) for minute in range(6)] + [candle_line(5, 120), candle_line(6)]
    )
    path = write(tmp_path / "chunks.csv", lines)
    whole = parse_candle_csv(path, PLAIN, "1m")
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 3)

    chunked = parse_candle_csv(path, PLAIN, "1m")

    expected = [CsvRowError(row=8, column="timestamp", value=str(T0 + 5 * MINUTE), reason="repeats the time of line 7")]
    assert whole.errors == chunked.errors == expected
    np.testing.assert_array_equal(chunked.candles, whole.candles)
    np.testing.assert_array_equal(chunked.candles, expected_candles(list(range(6)), [100 + m for m in range(6)]))


def test_a_clean_file_is_read_by_numpy_and_matches_the_row_by_row_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    minutes = list(range(0, 2000, 1))
    opens = [100 + (minute % 37) * 0.25 for minute in minutes]
    lines = ["Volume,Close,Low,High,Open,Date"] + [
        f"5,{value + 1},{value - 1},{value + 2},{value},{(T0 + minute * MINUTE) // 1000}"
        for minute, value in zip(minutes, opens, strict=True)
    ]
    path = write(tmp_path / "clean.csv", lines)
    mapping = preview_csv(path).mapping
    assert mapping.time_unit == "s"
    monkeypatch.setattr(csv_import, "FAST_CHUNK_ROWS", 700)

    class NoRowByRow(csv_import._RowChecker):
        def check(self, chunk: csv_import._Chunk) -> None:
            raise AssertionError("a clean file must not need the row-by-row check")

    monkeypatch.setattr(csv_import, "_RowChecker", NoRowByRow)
    fast = parse_candle_csv(path, mapping, "1m")
    monkeypatch.undo()
    monkeypatch.setattr(csv_import, "_read_uniform", lambda *_args: None)
    slow = parse_candle_csv(path, mapping, "1m")

    expected = expected_candles(minutes, opens)
    for result in (fast, slow):
        assert (result.errors, result.error_count, result.total_rows) == ([], 0, 2000)
        np.testing.assert_array_equal(result.candles, expected)


def test_quoted_cells_are_read_row_by_row(tmp_path: Path) -> None:
    path = write(
        tmp_path / "quoted.csv",
        ['"timestamp","open","high","low","close","volume"', f'"{T0}","100","102","99","101","5"'],
    )
    result = parse_candle_csv(path, PLAIN, "1m")
    assert result.errors == []
    np.testing.assert_array_equal(result.candles, expected_candles([0], [100]))
