"""Parity with the backtest-kit peer (SPEC §19.6, §20): every run matches the peer's expected rows bit for bit.

The managed variants (SPEC-position, peer README "Managed strategies") also match the peer's per-run counts of
commands (``[calls, successes]``), callback invocations and un-pauses (SPEC-position P22; the peer's RESULTS.md).

The peer's files are vendored in ``tests/data`` (see ``tests/data_paths.py``): its 1-day CSV and expected rows; the
30-day and 365-day CSVs are generated once per session with its ``make_candles.py`` and checked against the sha256 it
published. The 365-day runs are ``slow``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from data_paths import BTC_1D_CSV, EXPECTED, expected_rows, peer_candles

from workstation.parity import MANAGED_FIELDS, TRADE_FIELDS, ManagedSummary, compare_rows, read_rows, run_parity
from workstation.timeutil import to_ms


@pytest.fixture(scope="session")
def btc_30d_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return peer_candles("30d", tmp_path_factory.mktemp("candles"))


@pytest.fixture(scope="session")
def btc_365d_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return peer_candles("365d", tmp_path_factory.mktemp("candles"))


def _csv(request: pytest.FixtureRequest, name: str) -> Path:
    """Return the CSV of a data set, generating (through its session fixture) only the one a test asks for."""
    if name == "1d":
        return BTC_1D_CSV
    path: Path = request.getfixturevalue(f"btc_{name}_csv")
    return path


@dataclass(frozen=True)
class Case:
    """A row of SPEC §20.3."""

    data: str
    variant: str
    get_signal_calls: int
    closed: int
    cancelled: int
    close_reasons: dict[str, int]
    total_pnl: str
    managed: ManagedSummary | None = None

    @property
    def expected_file(self) -> Path:
        return expected_rows(self.variant, self.data)


CASES = [
    Case("1d", "market", 96, 6, 0, {"take_profit": 4, "stop_loss": 2}, "-0.393194"),
    Case(
        "1d",
        "limit",
        73,
        5,
        1,
        {"take_profit": 2, "stop_loss": 2, "time_expired": 1, "cancelled:timeout": 1},
        "-2.083759",
    ),
    Case("30d", "market", 2759, 263, 0, {"take_profit": 98, "stop_loss": 114, "time_expired": 51}, "-113.968197"),
    Case(
        "30d",
        "limit",
        2428,
        181,
        69,
        {"take_profit": 84, "stop_loss": 72, "time_expired": 25, "cancelled:timeout": 69},
        "-59.766732",
    ),
]
SLOW_CASES = [
    Case(
        "365d",
        "market",
        34540,
        3448,
        0,
        {"take_profit": 1293, "stop_loss": 1610, "time_expired": 545},
        "-1648.339343",
    ),
    Case(
        "365d",
        "limit",
        29647,
        2379,
        746,
        {
            "take_profit": 852,
            "stop_loss": 1163,
            "time_expired": 364,
            "cancelled:timeout": 741,
            "cancelled:price_reject": 5,
        },
        "-1239.438035",
    ),
]


#: The peer's RESULTS.md "Feature use": per command ``[calls, successes]`` in its six managed runs, in the order of
#: `MANAGED_RUNS`; None where the run never called it.
MANAGED_RUNS = (
    "1d-managed",
    "1d-managed-limit",
    "30d-managed",
    "30d-managed-limit",
    "365d-managed",
    "365d-managed-limit",
)
FEATURE_USE: dict[str, tuple[tuple[int, int] | None, ...]] = {
    "partialProfit": ((6, 6), (4, 4), (254, 253), (142, 142), (2804, 2791), (1776, 1775)),
    "partialProfitCost": ((6, 5), (4, 4), (199, 190), (149, 136), (2626, 2288), (1798, 1615)),
    "partialLoss": ((1, 1), (1, 1), (34, 34), (20, 20), (503, 503), (309, 309)),
    "partialLossCost": ((1, 1), (1, 1), (41, 41), (22, 22), (467, 467), (313, 313)),
    "trailingStop": ((50, 12), (22, 7), (3680, 533), (2133, 299), (39887, 5820), (25038, 3543)),
    "trailingStopCost": ((23, 10), (41, 12), (970, 524), (761, 421), (11501, 6618), (7379, 4449)),
    "trailingTake": ((1, 1), (1, 1), (57, 57), (38, 38), (698, 698), (443, 443)),
    "trailingTakeCost": (None, None, (25, 25), (24, 24), (374, 374), (259, 259)),
    "breakeven": ((7, 4), (6, 3), (353, 165), (205, 97), (3954, 1846), (2541, 1224)),
    "averageBuy": ((4, 4), (3, 3), (152, 152), (103, 103), (1946, 1945), (1249, 1248)),
    "closePending": (None, None, (22, 22), (14, 14), (269, 269), (182, 182)),
    "cancelScheduled": (None, None, None, (83, 83), None, (1019, 1019)),
    "activateScheduled": (None, (1, 1), None, (26, 26), None, (434, 434)),
    "pause": ((2, 2), (3, 3), (82, 82), (51, 51), (1178, 1178), (801, 801)),
}
#: The same table's callback invocations, then the un-pauses.
CALLBACK_USE: dict[str, tuple[int, ...]] = {
    "onActivePing": (517, 450, 26138, 17105, 321326, 206629),
    "onSchedulePing": (0, 194, 0, 12245, 0, 151254),
    "onPartialProfit": (225, 198, 14586, 9129, 171645, 110933),
    "onPartialLoss": (292, 252, 11552, 7976, 149681, 95696),
    "onBreakeven": (4, 3, 170, 100, 1889, 1253),
    "onClose": (9, 7, 344, 219, 4252, 2872),
    "onIdle": (494, 362, 16298, 12909, 199603, 160528),
}
RESUMES = (2, 3, 81, 51, 1178, 801)


def _managed(
    data: str, variant: str, calls: int, closed: int, cancelled: int, reasons: dict[str, int], total_pnl: str
) -> Case:
    """A managed run of RESULTS.md, with the counts of its column of the tables above."""
    column = MANAGED_RUNS.index(f"{data}-{variant}")
    summary = ManagedSummary(
        commits={name: list(uses[column]) for name, uses in FEATURE_USE.items() if uses[column] is not None},
        callbacks={name: counts[column] for name, counts in CALLBACK_USE.items()},
        resumes=RESUMES[column],
    )
    return Case(data, variant, calls, closed, cancelled, reasons, total_pnl, summary)


MANAGED_CASES = [
    _managed("1d", "managed", 99, 9, 0, {"take_profit": 1, "stop_loss": 6, "closed": 2}, "-3.239141"),
    _managed("1d", "managed-limit", 64, 7, 0, {"take_profit": 1, "stop_loss": 4, "closed": 2}, "-3.719137"),
    _managed(
        "30d",
        "managed",
        3238,
        344,
        0,
        {"take_profit": 76, "stop_loss": 175, "time_expired": 1, "closed": 92},
        "-121.705217",
    ),
    _managed(
        "30d",
        "managed-limit",
        2684,
        219,
        83,
        {"take_profit": 52, "stop_loss": 110, "closed": 57, "cancelled:user": 83},
        "-78.963881",
    ),
]
SLOW_MANAGED_CASES = [
    _managed(
        "365d",
        "managed",
        38604,
        4252,
        0,
        {"take_profit": 873, "stop_loss": 2327, "time_expired": 8, "closed": 1044},
        "-1754.904881",
    ),
    _managed(
        "365d",
        "managed-limit",
        32544,
        2872,
        1026,
        {
            "take_profit": 544,
            "stop_loss": 1598,
            "time_expired": 4,
            "closed": 726,
            "cancelled:user": 1019,
            "cancelled:timeout": 1,
            "cancelled:price_reject": 6,
        },
        "-1215.020431",
    ),
]


def _check_case(case: Case, csv_path: Path) -> list[dict[str, object]]:
    run = asyncio.run(run_parity(csv_path, case.variant))
    assert compare_rows(run.rows, read_rows(case.expected_file)) == []
    assert run.get_signal_calls == case.get_signal_calls
    assert (run.closed, run.cancelled) == (case.closed, case.cancelled)
    assert run.close_reasons == dict(sorted(case.close_reasons.items()))
    assert f"{run.total_pnl_percent:.6f}" == case.total_pnl
    assert run.ticks == run.candles - 420
    assert run.managed == case.managed
    return run.rows


@pytest.mark.parametrize("case", CASES + MANAGED_CASES, ids=lambda case: f"{case.data}-{case.variant}")
def test_run_matches_the_peer_bit_for_bit(case: Case, request: pytest.FixtureRequest) -> None:
    _check_case(case, _csv(request, case.data))


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES + SLOW_MANAGED_CASES, ids=lambda case: f"{case.data}-{case.variant}")
def test_year_run_matches_the_peer_bit_for_bit(case: Case, request: pytest.FixtureRequest) -> None:
    rows = _check_case(case, _csv(request, case.data))
    # The one signal cut at the frame end (SPEC §20.3): the last row, at 2024-12-30T18:00Z.
    frame_end = to_ms(datetime(2024, 12, 30, 18, 0, tzinfo=UTC))
    assert rows[-1]["closeTimestamp"] == frame_end
    assert rows[-1]["closeReason"] == ("time_expired" if case.variant in ("market", "managed") else "timeout")
    assert all(row["closeTimestamp"] < frame_end for row in rows[:-1])


@pytest.mark.parametrize("variant", ["managed", "managed-limit"])
def test_unrecorded_managed_run_carries_the_peers_trades(variant: str) -> None:
    # The benchmark times the built-in strategy without the harness's recording: its trades are still the peer's,
    # every managed field but the recorded commit log and counts included.
    expected = read_rows(expected_rows(variant, "1d"))
    run = asyncio.run(run_parity(BTC_1D_CSV, variant, record=False))
    assert run.managed is None
    assert compare_rows(run.rows, expected, TRADE_FIELDS) == []
    closed = next(row for row in run.rows if row["action"] == "closed")
    assert [name for name in MANAGED_FIELDS if name in closed] == list(MANAGED_FIELDS[:-2])
    assert compare_rows(run.rows, expected) != []


# ---------------------------------------------------------------------------------------------------------------
# The command line: python -m workstation.parity run / compare
# ---------------------------------------------------------------------------------------------------------------


def _parity(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "workstation.parity", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def ours_1d_market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parity") / "ours.jsonl"
    completed = _parity("run", "--csv", BTC_1D_CSV, "--strategy", "market", "--out", out)
    assert completed.returncode == 0, completed.stderr
    assert "getSignal calls=96 " in completed.stdout
    assert "total pnl % (sum of pnlPercentage over closed) = -0.393194" in completed.stdout
    return out


def test_managed_rows_and_counts_are_printed_as_the_peer_prints_them(tmp_path: Path) -> None:
    out = tmp_path / "managed.jsonl"
    completed = _parity("run", "--csv", BTC_1D_CSV, "--strategy", "managed-limit", "--out", out)
    assert completed.returncode == 0, completed.stderr
    assert out.read_bytes() == (EXPECTED / "managed-limit_1d.jsonl").read_bytes()
    lines = completed.stdout.splitlines()
    assert lines[3] == (
        'commits [calls, ok]: {"averageBuy":[3,3],"partialLoss":[1,1],"pause":[3,3],"trailingTake":[1,1],'
        '"partialProfit":[4,4],"trailingStop":[22,7],"partialLossCost":[1,1],"partialProfitCost":[4,4],'
        '"trailingStopCost":[41,12],"breakeven":[6,3],"activateScheduled":[1,1]}'
    )
    assert lines[4] == (
        'callbacks: {"onActivePing":450,"onSchedulePing":194,"onPartialProfit":198,"onPartialLoss":252,'
        '"onBreakeven":3,"onClose":7,"onIdle":362} resumes=3'
    )


def test_compare_of_identical_rows_exits_0_with_the_exact_line(ours_1d_market: Path) -> None:
    completed = _parity("compare", ours_1d_market, EXPECTED / "market_1d.jsonl")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout == "compared 6 rows: ALL IDENTICAL (bit-exact)\n"


def test_our_rows_are_byte_identical_to_the_peers(ours_1d_market: Path) -> None:
    assert ours_1d_market.read_bytes() == (EXPECTED / "market_1d.jsonl").read_bytes()


def test_compare_reads_gzip(tmp_path: Path) -> None:
    packed = tmp_path / "market_30d.jsonl.gz"
    packed.write_bytes(gzip.compress((EXPECTED / "market_30d.jsonl").read_bytes()))
    completed = _parity("compare", EXPECTED / "market_30d.jsonl", packed)
    assert (completed.returncode, completed.stdout) == (0, "compared 263 rows: ALL IDENTICAL (bit-exact)\n")


def test_compare_of_one_changed_float_exits_1_naming_row_and_field(ours_1d_market: Path, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in ours_1d_market.read_text().splitlines()]
    rows[2]["pnlPercentage"] = math.nextafter(rows[2]["pnlPercentage"], math.inf)  # one ulp: still "equal" at 1e-9
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps(row) + "\n" for row in rows))
    completed = _parity("compare", changed, EXPECTED / "market_1d.jsonl")
    assert completed.returncode == 1
    lines = completed.stdout.splitlines()
    assert lines[0].startswith(f"row 3 (id {rows[2]['id']}): pnlPercentage ours=")
    assert lines[-1] == "compared 6 rows: DIFFERENT"


def test_compare_of_a_missing_row_exits_1(ours_1d_market: Path, tmp_path: Path) -> None:
    shorter = tmp_path / "shorter.jsonl"
    shorter.write_text("".join(ours_1d_market.read_text().splitlines(keepends=True)[:-1]))
    completed = _parity("compare", shorter, EXPECTED / "market_1d.jsonl")
    assert completed.returncode == 1
    assert "row count differs: ours 5, expected 6" in completed.stdout


def test_compare_rows_takes_a_missing_field_as_null() -> None:
    expected = read_rows(EXPECTED / "limit_1d.jsonl")
    cancelled = next(row for row in expected if row["action"] == "cancelled")
    assert "pnlCost" not in cancelled
    assert compare_rows([{**cancelled, "pnlCost": None}], [cancelled]) == []
    assert compare_rows([{**cancelled, "pnlCost": 0.0}], [cancelled]) == [
        f"row 1 (id {cancelled['id']}): pnlCost ours=0.0 expected=None"
    ]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["run", "--csv", "missing.csv", "--strategy", "market", "--out", "x.jsonl"], "--csv"),
        (["run", "--csv", BTC_1D_CSV, "--strategy", "stop", "--out", "x.jsonl"], "--strategy"),
        (
            ["run", "--csv", BTC_1D_CSV, "--strategy", "market", "--out", "x.jsonl", "--tail-min", "-1"],
            "--tail",
        ),
        (["compare", "missing.jsonl", EXPECTED / "market_1d.jsonl"], "missing.jsonl"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_naming_them(args: list[str | Path], flag: str, tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "workstation.parity", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and flag in completed.stderr, completed.stderr
    assert not (tmp_path / "x.jsonl").exists()
