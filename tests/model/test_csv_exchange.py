"""The CSV exchange: slices, aggregation, gaps, errors, lazy loading and pickling (SPEC §4.7)."""

from __future__ import annotations

import asyncio
import csv
import math
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from data_paths import BTC_1D_CSV

import workstation as ws
from workstation.exchanges import make_csv_exchange
from workstation.exchanges.csv import CsvCandles
from workstation.exchanges.csv_import import CsvImportError
from workstation.models.candles import CANDLE_DTYPE
from workstation.schemas.exchange import ExchangeSchema
from workstation.timeutil import MINUTE_MS, from_ms, now_ms

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T0_MS = 1_704_067_200_000
HEADER = "timestamp,open,high,low,close,volume\n"


@pytest.fixture
def btc_1d() -> Path:
    return BTC_1D_CSV


def fetch(schema: ExchangeSchema, interval: str, since: datetime, limit: int, symbol: str = "BTCUSDT") -> np.ndarray:
    """Run one request in a fresh event loop.

    The answer leaves through a list, not as the task's result: on exit, Python 3.11's ``asyncio.run`` formats the
    main task's repr, and numpy prints an array of up to 1000 rows in full (tens of milliseconds per call).
    """
    answers: list[np.ndarray] = []

    async def run() -> None:
        answers.append(await schema.get_candles(symbol, interval, since, limit))

    asyncio.run(run())
    return answers[0]


def rows(candles: np.ndarray) -> list[tuple[int | float, ...]]:
    return [tuple(row) for row in candles.tolist()]


def write_csv(path: Path, lines: list[tuple[int, float, float, float, float, float]]) -> Path:
    path.write_text(HEADER + "".join(",".join(repr(value) for value in line) + "\n" for line in lines))
    return path


def minute_rows(
    count: int, *, skip: frozenset[int] = frozenset()
) -> list[tuple[int, float, float, float, float, float]]:
    """Candles at T0 + k minutes with easily checked values: open k+100, high k+102, low k+99, close k+101."""
    return [
        (T0_MS + k * MINUTE_MS, k + 100.0, k + 102.0, k + 99.0, k + 101.0, float(k + 1))
        for k in range(count)
        if k not in skip
    ]


def test_1m_slice_returns_the_requested_rows(btc_1d: Path) -> None:
    exchange = make_csv_exchange("csv", btc_1d)

    candles = fetch(exchange, "1m", T0 + timedelta(minutes=2), 3)

    assert candles.dtype == CANDLE_DTYPE
    assert rows(candles) == [
        (1704067320000, 41999.42, 42041.41, 41981.66, 42038.15, 7.9883),
        (1704067380000, 42038.15, 42053.71, 41977.74, 41988.65, 19.9896),
        (1704067440000, 41988.65, 42000.66, 41942.14, 41973.36, 7.3942),
    ]


def test_values_parse_exactly_like_python_float(btc_1d: Path) -> None:
    with btc_1d.open() as file:
        expected = [
            (int(row["timestamp"]), *(float(row[name]) for name in ("open", "high", "low", "close", "volume")))
            for row in csv.DictReader(file)
        ]
    exchange = make_csv_exchange("csv", btc_1d)

    candles = np.concatenate(
        [fetch(exchange, "1m", T0, 1000), fetch(exchange, "1m", T0 + timedelta(minutes=1000), 1000)]
    )

    assert rows(candles) == expected
    assert len(candles) == 1440


def test_the_end_of_the_file_gives_a_prefix_then_nothing(btc_1d: Path) -> None:
    exchange = make_csv_exchange("csv", btc_1d)

    tail = fetch(exchange, "1m", T0 + timedelta(minutes=1438), 10)
    beyond = fetch(exchange, "1m", T0 + timedelta(days=1), 10)
    before = fetch(exchange, "1m", T0 - timedelta(minutes=10), 10)

    assert tail["timestamp"].tolist() == [1704153480000, 1704153540000]
    assert tail["close"].tolist() == [38725.07, 38725.6]
    assert len(beyond) == 0
    assert beyond.dtype == CANDLE_DTYPE
    assert len(before) == 0


def test_every_symbol_gets_the_same_candles(btc_1d: Path) -> None:
    exchange = make_csv_exchange("csv", btc_1d)

    btc = fetch(exchange, "1m", T0, 50, symbol="BTCUSDT")
    eth = fetch(exchange, "1m", T0, 50, symbol="ETH/USDT")

    assert btc.tobytes() == eth.tobytes()


def test_5m_candles_aggregate_the_first_rows(btc_1d: Path) -> None:
    exchange = make_csv_exchange("csv", btc_1d)

    candles = fetch(exchange, "5m", T0, 2)

    # rows 0-4: open 42000.00, high max(42045.09, 42003.59, 42041.41, 42053.71, 42000.66), low 41942.14 (row 4),
    # close of row 4; volume 3.9049 + 10.2627 + 7.9883 + 19.9896 + 7.3942 from 0.0, left to right.
    assert rows(candles) == [
        (1704067200000, 42000.0, 42053.71, 41942.14, 41973.36, 49.539699999999996),
        (1704067500000, 41973.36, 42054.46, 41965.68, 41991.38, 66.21969999999999),
    ]


def test_1h_candles_use_the_sequential_volume_sum(btc_1d: Path) -> None:
    exchange = make_csv_exchange("csv", btc_1d)

    candles = fetch(exchange, "1h", T0, 2)

    assert rows(candles) == [
        (1704067200000, 42000.0, 42054.46, 41587.72, 41659.14, 878.8853999999999),
        (1704070800000, 41659.14, 41875.31, 41112.86, 41189.83, 944.7238000000003),
    ]
    first_hour = fetch(exchange, "1m", T0, 60)["volume"]
    assert float(np.sum(first_hour)) == 878.8854  # pairwise summation would differ in the last bit


def test_volume_is_summed_left_to_right_from_zero(tmp_path: Path) -> None:
    volumes = [1e16, 1.0, 1.0, 1.0, 1.0]
    path = write_csv(
        tmp_path / "c.csv", [(T0_MS + k * MINUTE_MS, 1.0, 1.0, 1.0, 1.0, v) for k, v in enumerate(volumes)]
    )

    candles = fetch(make_csv_exchange("csv", path), "5m", T0, 1)

    # 1e16 + 1.0 rounds back to 1e16 each time; an exact or reordered sum would keep the four ones.
    assert candles["volume"].tolist() == [1e16]
    assert math.fsum(volumes) == 1.0000000000000004e16


def test_volume_sums_equal_a_python_loop_bit_for_bit(tmp_path: Path) -> None:
    volumes = np.random.default_rng(7).lognormal(0.0, 4.0, size=600).tolist()  # wide magnitudes: rounding matters
    path = write_csv(
        tmp_path / "c.csv", [(T0_MS + k * MINUTE_MS, 1.0, 1.0, 1.0, 1.0, v) for k, v in enumerate(volumes)]
    )

    candles = fetch(make_csv_exchange("csv", path), "1h", T0, 10)

    expected = []
    for hour in range(10):
        total = 0.0
        for volume in volumes[hour * 60 : (hour + 1) * 60]:
            total = total + volume
        expected.append(total)
    assert candles["volume"].tolist() == expected


def test_a_bucket_of_negative_zero_volumes_sums_to_positive_zero(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [(T0_MS + k * MINUTE_MS, 1.0, 1.0, 1.0, 1.0, -0.0) for k in range(5)])

    candles = fetch(make_csv_exchange("csv", path), "5m", T0, 1)

    assert math.copysign(1.0, float(candles["volume"][0])) == 1.0  # 0.0 + -0.0 is +0.0


def test_1d_candle_covers_the_whole_file(btc_1d: Path) -> None:
    exchange = make_csv_exchange("csv", btc_1d)

    candles = fetch(exchange, "1d", T0, 3)

    assert len(candles) == 1
    minutes = fetch(exchange, "1m", T0, 1000)
    minutes = np.concatenate([minutes, fetch(exchange, "1m", T0 + timedelta(minutes=1000), 440)])
    volume = 0.0
    for value in minutes["volume"].tolist():
        volume = volume + value
    assert rows(candles) == [
        (T0_MS, 42000.0, float(minutes["high"].max()), float(minutes["low"].min()), 38725.6, volume)
    ]


def test_incomplete_buckets_are_not_returned(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", minute_rows(7))

    candles = fetch(make_csv_exchange("csv", path), "5m", T0, 3)

    assert rows(candles) == [(T0_MS, 100.0, 106.0, 99.0, 105.0, 15.0)]


def test_gaps_serve_what_exists(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", minute_rows(10, skip=frozenset({3})))
    exchange = make_csv_exchange("csv", path)

    minutes = fetch(exchange, "1m", T0, 10)
    five = fetch(exchange, "5m", T0, 2)

    assert [(ts - T0_MS) // MINUTE_MS for ts in minutes["timestamp"].tolist()] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert rows(five) == [(T0_MS + 5 * MINUTE_MS, 105.0, 111.0, 104.0, 110.0, 40.0)]


def test_1m_candles_are_read_only_views_of_one_array_and_5m_are_new(btc_1d: Path) -> None:
    exchange = make_csv_exchange("csv", btc_1d)

    first = fetch(exchange, "1m", T0, 10)
    second = fetch(exchange, "1m", T0 + timedelta(minutes=5), 10)
    aggregated = fetch(exchange, "5m", T0, 2)

    assert not first.flags.writeable and not second.flags.writeable
    assert first.base is second.base
    assert not first.base.flags.writeable
    assert aggregated.flags.writeable and not np.shares_memory(aggregated, first.base)


def test_unsorted_and_repeated_rows_are_refused_naming_their_lines(tmp_path: Path) -> None:
    lines = minute_rows(3)
    path = write_csv(tmp_path / "c.csv", [lines[0], lines[2], lines[1], lines[2]])

    with pytest.raises(CsvImportError) as refused:
        fetch(make_csv_exchange("csv", path), "1m", T0, 5)

    assert str(refused.value) == (
        "c.csv: 1 error, the file was not used\nline 4: timestamp '1704067260000' is before the time of line 3"
    )


def test_a_repeated_time_is_refused_naming_both_lines(tmp_path: Path) -> None:
    lines = minute_rows(2)
    path = write_csv(tmp_path / "c.csv", [lines[0], lines[1], (lines[1][0], 1.0, 1.0, 1.0, 1.0, 1.0)])

    with pytest.raises(
        CsvImportError,
        match=r"^c\.csv: 1 error, the file was not used\nline 4: timestamp "
        r"'1704067260000' repeats the time of line 3$",
    ):
        fetch(make_csv_exchange("csv", path), "1m", T0, 5)


def test_iso_dates_are_read_as_the_import_dialog_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "iso.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-01T00:00:00Z,100,102,99,101,1\n"
        "2024-01-01 00:01:00,101,103,100,102,2\n"
        "2024-01-01T00:02:00+00:00,102,104,101,103,3\n"
    )

    candles = fetch(make_csv_exchange("csv", path), "1m", T0, 3)

    assert rows(candles) == [
        (T0_MS, 100.0, 102.0, 99.0, 101.0, 1.0),
        (T0_MS + MINUTE_MS, 101.0, 103.0, 100.0, 102.0, 2.0),
        (T0_MS + 2 * MINUTE_MS, 102.0, 104.0, 101.0, 103.0, 3.0),
    ]


def test_there_is_one_candle_csv_reader() -> None:
    import workstation.exchanges.csv as csv_exchange

    assert not hasattr(csv_exchange, "load_candle_csv")
    assert not hasattr(csv_exchange, "read_csv_span")
    assert csv_exchange.parse_candle_csv is ws.parse_candle_csv


def test_a_header_only_file_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [])

    with pytest.raises(CsvImportError, match=r"^c\.csv: no candle rows after the header$"):
        fetch(make_csv_exchange("csv", path), "1m", T0, 5)


def test_candles_not_yet_closed_are_never_returned(tmp_path: Path) -> None:
    current_minute = now_ms() // MINUTE_MS * MINUTE_MS
    first = current_minute - 3 * MINUTE_MS
    path = write_csv(tmp_path / "c.csv", [(first + k * MINUTE_MS, 1.0, 1.0, 1.0, 1.0, 1.0) for k in range(6)])

    candles = fetch(make_csv_exchange("csv", path), "1m", from_ms(first), 6)

    assert len(candles) >= 3
    assert int(candles["timestamp"][-1]) + MINUTE_MS <= now_ms()


def test_a_missing_file_is_reported_on_the_first_call_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    exchange = make_csv_exchange("csv", path)  # nothing is read yet

    with pytest.raises(FileNotFoundError, match=r"absent\.csv"):
        fetch(exchange, "1m", T0, 5)


def test_a_header_that_looks_like_data_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("1704067200000,1,1,1,1,1\n")

    with pytest.raises(ValueError, match=r"bad\.csv: line 1 \('1704067200000,1,1,1,1,1'\) looks like data"):
        fetch(make_csv_exchange("csv", path), "1m", T0, 5)


def test_a_bad_row_names_the_file_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "1704067200000,1,1,1,1,1\n1704067260000,1,1,1,oops,1\n")

    with pytest.raises(CsvImportError, match=r"^bad\.csv: 1 error, the file was not used\nline 3: close 'oops' is"):
        fetch(make_csv_exchange("csv", path), "1m", T0, 5)


def test_a_timestamp_off_the_minute_grid_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [*minute_rows(2), (T0_MS + 2 * MINUTE_MS + 1, 1.0, 1.0, 1.0, 1.0, 1.0)])

    with pytest.raises(CsvImportError, match=r"line 4: timestamp '1704067320001' is not on the 1m grid"):
        fetch(make_csv_exchange("csv", path), "1m", T0, 5)


def test_an_unknown_interval_is_refused(btc_1d: Path) -> None:
    with pytest.raises(ValueError, match="unknown candle interval '7m'"):
        fetch(make_csv_exchange("csv", btc_1d), "7m", T0, 5)


def test_the_file_is_read_once_on_the_first_call(tmp_path: Path) -> None:
    path = tmp_path / "later.csv"
    exchange = make_csv_exchange("csv", path)
    write_csv(path, minute_rows(3))  # created after the exchange: construction read nothing

    first = fetch(exchange, "1m", T0, 3)
    write_csv(path, minute_rows(3, skip=frozenset({0, 1, 2})))
    second = fetch(exchange, "1m", T0, 3)

    assert rows(first) == minute_rows(3)
    assert rows(second) == rows(first)


def test_get_candles_pickles_by_reference_without_its_data(btc_1d: Path) -> None:
    exchange = make_csv_exchange("csv", btc_1d)
    loaded = fetch(exchange, "1h", T0, 24)

    payload = pickle.dumps(exchange.get_candles)
    clone = pickle.loads(payload)
    schema_clone = pickle.loads(pickle.dumps(exchange))

    assert len(payload) < 500  # the path, not 1440 candles
    assert isinstance(clone, CsvCandles)
    assert clone.path == btc_1d
    assert fetch(ExchangeSchema(exchange_name="clone", get_candles=clone), "1h", T0, 24).tobytes() == loaded.tobytes()
    assert fetch(schema_clone, "1h", T0, 24).tobytes() == loaded.tobytes()
