"""CandleStore: the SQLite cache of downloaded candles, its coverage and its gaps."""

from __future__ import annotations

import pickle
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import platformdirs
import pytest

from workstation.exchanges.candle_store import CandleStore, CandleStoreFileError, StoredSeries
from workstation.exchanges.csv import read_candle_file
from workstation.models.candles import CANDLE_DTYPE

T0 = 1704067200000
MINUTE = 60_000


def m(minute: int) -> int:
    return T0 + minute * MINUTE


def candles_at(minutes: list[int], step: int = MINUTE) -> np.ndarray:
    rows = np.empty(len(minutes), dtype=CANDLE_DTYPE)
    rows["timestamp"] = [T0 + minute * step for minute in minutes]
    rows["open"] = [42000.0 + minute for minute in minutes]
    rows["high"] = rows["open"] + 10.5
    rows["low"] = rows["open"] - 10.25
    rows["close"] = rows["open"] + 0.1
    rows["volume"] = [1.0 + minute % 3 for minute in minutes]
    return rows


def test_candles_read_back_exactly_and_sorted_within_since_until(store: CandleStore) -> None:
    written = candles_at([3, 0, 2, 1, 4])
    store.write("binance", "BTC/USDT", "1m", written, covered=(m(0), m(5)))

    everything = store.read("binance", "BTC/USDT", "1m", m(0), m(5))
    assert everything.dtype == CANDLE_DTYPE
    np.testing.assert_array_equal(everything, np.sort(written, order="timestamp"))
    assert everything["close"].tolist() == [42000.1, 42001.1, 42002.1, 42003.1, 42004.1]
    assert store.read("binance", "BTC/USDT", "1m", m(1), m(3))["timestamp"].tolist() == [m(1), m(2)]
    assert len(store.read("binance", "BTC/USDT", "5m", m(0), m(5))) == 0
    assert len(store.read("kraken", "BTC/USDT", "1m", m(0), m(5))) == 0


def test_steps_without_a_candle_inside_the_covered_range_are_gaps(store: CandleStore) -> None:
    store.write("binance", "BTC/USDT", "1m", candles_at([2, 3, 6, 7]), covered=(m(0), m(10)))

    assert store.series() == [
        StoredSeries(
            exchange="binance",
            symbol="BTC/USDT",
            interval="1m",
            first=m(2),
            last=m(7),
            count=4,
            gaps=[(m(0), m(2)), (m(4), m(6)), (m(8), m(10))],
            covered=[(m(0), m(10))],
        )
    ]
    assert store.read("binance", "BTC/USDT", "1m", m(0), m(10))["timestamp"].tolist() == [m(2), m(3), m(6), m(7)]


def test_a_range_answered_with_nothing_is_one_gap(store: CandleStore) -> None:
    store.write("binance", "BTC/USDT", "1h", candles_at([]), covered=(T0, T0 + 5 * 3_600_000))

    [series] = store.series()
    assert (series.first, series.last, series.count) == (None, None, 0)
    assert series.gaps == [(T0, T0 + 5 * 3_600_000)]
    assert store.missing("binance", "BTC/USDT", "1h", T0, T0 + 6 * 3_600_000) == [
        (T0 + 5 * 3_600_000, T0 + 6 * 3_600_000)
    ]


def test_touching_writes_merge_their_coverage_and_their_gaps(store: CandleStore) -> None:
    store.write("x", "S", "1m", candles_at(list(range(8))), covered=(m(0), m(10)))
    store.write("x", "S", "1m", candles_at(list(range(12, 20))), covered=(m(10), m(20)))
    store.write("x", "S", "1m", candles_at([30]), covered=(m(30), m(31)))

    [series] = store.series()
    assert series.covered == [(m(0), m(20)), (m(30), m(31))]
    assert series.gaps == [(m(8), m(12))]
    assert series.count == 17


def test_a_later_write_of_candles_inside_a_gap_shrinks_the_gap(store: CandleStore) -> None:
    store.write("x", "S", "1m", candles_at([0, 9]), covered=(m(0), m(10)))
    store.write("x", "S", "1m", candles_at([4, 5]), covered=(m(3), m(7)))

    [series] = store.series()
    assert series.gaps == [(m(1), m(4)), (m(6), m(9))]
    assert series.count == 4


def test_missing_is_what_is_not_covered_yet(store: CandleStore) -> None:
    store.write("x", "S", "1m", candles_at([10, 11]), covered=(m(10), m(20)))
    store.write("x", "S", "1m", candles_at([]), covered=(m(30), m(40)))

    assert store.missing("x", "S", "1m", m(0), m(50)) == [(m(0), m(10)), (m(20), m(30)), (m(40), m(50))]
    assert store.missing("x", "S", "1m", m(12), m(18)) == []
    assert store.missing("x", "S", "1m", m(15), m(35)) == [(m(20), m(30))]
    assert store.missing("x", "S", "1m", m(5), m(5)) == []
    assert store.missing("other", "S", "1m", m(0), m(5)) == [(m(0), m(5))]


def test_writing_again_is_idempotent_and_replaces_values(store: CandleStore) -> None:
    first = candles_at([0, 1, 2])
    store.write("x", "S", "1m", first, covered=(m(0), m(3)))
    store.write("x", "S", "1m", first, covered=(m(0), m(3)))
    before = store.series()
    assert before[0].count == 3

    changed = first.copy()
    changed["close"][1] = 43000.5
    store.write("x", "S", "1m", changed, covered=(m(0), m(3)))

    assert store.series() == before
    assert store.read("x", "S", "1m", m(0), m(3))["close"].tolist() == [42000.1, 43000.5, 42002.1]


def test_bad_writes_are_refused_and_write_nothing(store: CandleStore) -> None:
    with pytest.raises(
        ValueError, match=r"^candle timestamp 1704067800000 \(2024-01-01T00:10:00.000Z\) is outside covered"
    ):
        store.write("x", "S", "1m", candles_at([9, 10]), covered=(m(0), m(10)))
    with pytest.raises(ValueError, match=r"^covered must be a \[start, end\) range on the 5m grid, got"):
        store.write("x", "S", "5m", candles_at([]), covered=(m(1), m(10)))
    with pytest.raises(ValueError, match=r"^covered must be a \[start, end\) range on the 1m grid"):
        store.write("x", "S", "1m", candles_at([]), covered=(m(10), m(0)))
    nan = candles_at([0, 1])
    nan["volume"][1] = np.nan
    with pytest.raises(ValueError, match=r"^candle at 2024-01-01T00:01:00.000Z has invalid numeric values"):
        store.write("x", "S", "1m", nan, covered=(m(0), m(2)))
    with pytest.raises(TypeError, match="one-dimensional CANDLE_DTYPE array"):
        store.write("x", "S", "1m", np.zeros((2, 6)), covered=(m(0), m(2)))
    with pytest.raises(ValueError, match=r"^unknown candle interval '7m'"):
        store.write("x", "S", "7m", candles_at([]), covered=(m(0), m(2)))

    assert store.series() == []


def test_series_are_listed_by_exchange_symbol_and_interval_length(store: CandleStore) -> None:
    for exchange, symbol, interval in [
        ("kraken", "BTC/USD", "1m"),
        ("binance", "ETH/USDT", "1m"),
        ("binance", "BTC/USDT", "1h"),
        ("binance", "BTC/USDT", "5m"),
        ("binance", "BTC/USDT", "1m"),
    ]:
        store.write(exchange, symbol, interval, candles_at([]), covered=(T0, T0 + 3_600_000))

    assert [(s.exchange, s.symbol, s.interval) for s in store.series()] == [
        ("binance", "BTC/USDT", "1m"),
        ("binance", "BTC/USDT", "5m"),
        ("binance", "BTC/USDT", "1h"),
        ("binance", "ETH/USDT", "1m"),
        ("kraken", "BTC/USD", "1m"),
    ]


def test_delete_forgets_one_series_and_counts_its_candles(store: CandleStore) -> None:
    store.write("x", "S", "1m", candles_at([0, 1, 2]), covered=(m(0), m(5)))
    store.write("x", "T", "1m", candles_at([0]), covered=(m(0), m(1)))

    assert store.delete("x", "S", "1m") == 3
    assert store.delete("x", "S", "1m") == 0
    assert [s.symbol for s in store.series()] == ["T"]
    assert store.missing("x", "S", "1m", m(0), m(5)) == [(m(0), m(5))]
    assert len(store.read("x", "T", "1m", m(0), m(1))) == 1


def test_export_csv_writes_the_peer_format_atomically_and_reads_back_bit_for_bit(
    store: CandleStore, tmp_path: Path
) -> None:
    written = candles_at([0, 1, 3])
    written["volume"][2] = 0.1 + 0.2
    store.write("x", "S", "1m", written, covered=(m(0), m(4)))
    target = tmp_path / "out" / "s.csv"

    assert store.export_csv("x", "S", "1m", target) == 3

    assert target.read_text().splitlines() == [
        "timestamp,open,high,low,close,volume",
        f"{m(0)},42000.0,42010.5,41989.75,42000.1,1.0",
        f"{m(1)},42001.0,42011.5,41990.75,42001.1,2.0",
        f"{m(3)},42003.0,42013.5,41992.75,42003.1,0.30000000000000004",
    ]
    np.testing.assert_array_equal(read_candle_file(target), written)
    assert sorted(path.name for path in target.parent.iterdir()) == ["s.csv"]
    assert store.export_csv("x", "nothing", "1m", tmp_path / "empty.csv") == 0
    assert (tmp_path / "empty.csv").read_text() == "timestamp,open,high,low,close,volume\n"


def test_the_default_file_is_in_the_user_data_dir_and_created_on_first_use() -> None:
    expected = Path(platformdirs.user_data_dir("workstation")) / "candles.sqlite3"
    store = CandleStore()
    assert store.path == expected
    assert not expected.exists()

    assert store.series() == []
    assert expected.exists()
    with sqlite3.connect(expected) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (1,)
    store.close()


def test_writes_from_many_threads_all_land(store: CandleStore) -> None:
    def write_hour(hour: int) -> None:
        minutes = list(range(hour * 60, hour * 60 + 60))
        store.write("x", "S", "1m", candles_at(minutes), covered=(m(hour * 60), m(hour * 60 + 60)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write_hour, range(24)))

    [series] = store.series()
    assert (series.count, series.first, series.last) == (1440, m(0), m(1439))
    assert series.covered == [(m(0), m(1440))]
    assert series.gaps == []


def test_a_store_pickles_as_its_path_and_a_reopened_store_sees_the_data(store: CandleStore) -> None:
    store.write("x", "S", "1m", candles_at([0]), covered=(m(0), m(1)))
    copy = pickle.loads(pickle.dumps(store))
    assert repr(copy) == repr(store)
    assert copy.read("x", "S", "1m", m(0), m(1))["open"].tolist() == [42000.0]
    copy.close()


def test_a_file_that_is_not_a_candle_store_is_refused(tmp_path: Path) -> None:
    not_sqlite = tmp_path / "notes.sqlite3"
    not_sqlite.write_text("these are my notes, not a database" * 100)
    with pytest.raises(CandleStoreFileError, match=r"notes.sqlite3 is not a candle store \(not an SQLite database"):
        CandleStore(not_sqlite).series()

    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as connection:
        connection.execute("PRAGMA user_version = 7")
    with pytest.raises(CandleStoreFileError, match=r"newer.sqlite3 has candle store schema version 7, newer than"):
        CandleStore(newer).series()
