"""Fault 19 on the command line: each bad candle file or too-early start is one clear error line, exit status 2.

A huge last timestamp raised ``OverflowError`` in ``timeutil.from_ms``; a ``--start`` within the first minutes of
the data was accepted and failed at its first tick; a bad row was reported with numpy's row number and its advice
to "use usecols". Now every message names the option, the file's line, or the first usable start.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.cli import main
from workstation.timeutil import MINUTE_MS

T0_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
HEADER = "timestamp,open,high,low,close,volume"


def candle_lines(count: int) -> list[str]:
    return [f"{T0_MS + k * MINUTE_MS},{100 + k},{102 + k},{99 + k},{101 + k},{k + 1}" for k in range(count)]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def backtest(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["backtest", *arguments])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_huge_last_timestamp_names_its_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "huge.csv", [*candle_lines(120), "99999999999999999999,1,1,1,1,1"])

    code, out, err = backtest(capsys, "--csv", str(path), "--start", "2024-01-01T00:10", "--end", "2024-01-01T01:00")

    assert (code, out) == (2, "")
    assert err == (
        "workstation backtest: error: --csv: huge.csv: 1 error, the file was not used; "
        "line 122: timestamp '99999999999999999999' is outside the years 1970 to 9999\n"
    )


def test_a_bad_row_names_the_file_line_not_numpy_s_row(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lines = candle_lines(120)
    lines[40] = lines[40].rsplit(",", 2)[0] + ",abc,41"
    path = write(tmp_path / "bad.csv", lines)

    code, out, err = backtest(capsys, "--csv", str(path), "--start", "2024-01-01T00:10", "--end", "2024-01-01T01:00")

    assert (code, out) == (2, "")
    assert err == (
        "workstation backtest: error: --csv: bad.csv: 1 error, the file was not used; "
        "line 42: close 'abc' is not a number\n"
    )
    assert "usecols" not in err


def test_unsorted_rows_are_refused_naming_the_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lines = candle_lines(120)
    lines[10], lines[11] = lines[11], lines[10]
    path = write(tmp_path / "unsorted.csv", lines)

    code, _, err = backtest(capsys, "--csv", str(path), "--start", "2024-01-01T00:20", "--end", "2024-01-01T01:00")

    assert code == 2
    assert err == (
        "workstation backtest: error: --csv: unsorted.csv: 1 error, the file was not used; "
        "line 13: timestamp '1704067800000' is before the time of line 12\n"
    )


@pytest.mark.parametrize(
    ("candles", "start", "end", "message"),
    [
        pytest.param(
            120,
            "2024-01-01T00:02",
            "2024-01-01T01:00",
            "--start: 2024-01-01 00:02 UTC is too early for hour.csv: its first candle opens at 2024-01-01 00:00 UTC "
            "and the first tick needs 5 candles before it; the first usable start is 2024-01-01 00:05 UTC",
            id="file",
        ),
        pytest.param(
            0,
            "2020-01-01T00:00",
            "2020-01-01T03:00",
            "--start: 2020-01-01 00:00 UTC is too early for the demo exchange: its first candle opens at "
            "2020-01-01 00:00 UTC and the first tick needs 5 candles before it; the first usable start is "
            "2020-01-01 00:05 UTC",
            id="demo",
        ),
    ],
)
def test_a_start_within_the_first_minutes_of_the_candles_names_the_first_usable_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, candles: int, start: str, end: str, message: str
) -> None:
    """A candle file of ``candles`` minutes from 2024-01-01, or the demo exchange (whose candles begin in 2020)."""
    source = ["--csv", str(write(tmp_path / "hour.csv", candle_lines(candles)))] if candles else []

    code, out, err = backtest(capsys, *source, "--start", start, "--end", end)

    assert (code, out) == (2, "")
    assert err == f"workstation backtest: error: {message}\n"


def test_a_file_with_history_before_the_start_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "hours.csv", candle_lines(240))

    code, out, err = backtest(capsys, "--csv", str(path), "--start", "2024-01-01T01:00", "--end", "2024-01-01T03:59")

    assert code == 0, err
    assert out.startswith("# Backtest Report: sma-cross-market (BTCUSDT)\n")


def test_an_end_after_the_file_names_its_last_candle(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "hour.csv", candle_lines(120))

    code, _, err = backtest(capsys, "--csv", str(path), "--start", "2024-01-01T00:05", "--end", "2024-01-01T02:30")

    assert code == 2
    assert err == (
        "workstation backtest: error: --end: 2024-01-01 02:30 UTC is after the last candle of hour.csv "
        "(2024-01-01 01:59 UTC)\n"
    )
