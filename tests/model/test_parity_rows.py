"""The managed rows of the peer (SPEC-position P19) read, compare and print like the plain ones: `compare_rows` checks
every P19 field, names a difference inside the lists of records by its path, and `format_row` writes the peer's
bytes back."""

from __future__ import annotations

import copy
import math

import pytest
from data_paths import EXPECTED, expected_rows

from workstation.parity import COMPARED_FIELDS, MANAGED_FIELDS, compare_rows, format_row, read_rows


@pytest.mark.parametrize("name", ["managed_1d.jsonl", "managed-limit_1d.jsonl", "managed_30d.jsonl"])
def test_the_peers_managed_rows_print_back_byte_for_byte(name: str) -> None:
    lines = (EXPECTED / name).read_text(encoding="utf-8").splitlines()
    assert [format_row(row) for row in read_rows(EXPECTED / name)] == lines


def test_every_field_of_a_managed_row_is_compared() -> None:
    rows = read_rows(EXPECTED / "managed_1d.jsonl")
    printed = {key for row in rows for key in row if not key.endswith("Iso")}
    assert set(COMPARED_FIELDS) == printed
    cancelled = read_rows(EXPECTED / "managed-limit_30d.jsonl")[9]
    assert (cancelled["action"], cancelled["closeReason"]) == ("cancelled", "user")
    assert [field for field in MANAGED_FIELDS if field in cancelled] == ["commits", "calls"]


@pytest.mark.parametrize("variant", ["managed", "managed-limit"])
@pytest.mark.parametrize("data", ["1d", "30d", "365d"])
def test_the_vendored_rows_equal_themselves(variant: str, data: str) -> None:
    rows = read_rows(expected_rows(variant, data))
    assert compare_rows(copy.deepcopy(rows), rows) == []


def test_a_one_ulp_change_in_a_commit_snapshot_is_named_by_its_path() -> None:
    expected = read_rows(EXPECTED / "managed_1d.jsonl")
    ours = copy.deepcopy(expected)
    pnl = ours[0]["commits"][1]["pnl"]
    ours[0]["commits"][1]["pnl"] = math.nextafter(pnl, math.inf)
    assert compare_rows(ours, expected) == [
        f"row 1 (id managed-1704075900000): commits[1].pnl ours={math.nextafter(pnl, math.inf)!r} expected={pnl!r}"
    ]


def test_a_missing_partial_and_a_missing_snapshot_field_are_both_named() -> None:
    expected = read_rows(EXPECTED / "managed_1d.jsonl")
    ours = copy.deepcopy(expected)
    assert ours[1]["totalPartials"] == 1
    del ours[1]["partials"][0]
    del ours[1]["commits"][0]["held"]
    assert compare_rows(ours, expected) == [
        "row 2 (id managed-1704083700000): partials length ours=0 expected=1; commits[0].held ours=None expected=60"
    ]


def test_a_changed_call_count_is_named() -> None:
    expected = read_rows(EXPECTED / "managed-limit_1d.jsonl")
    ours = copy.deepcopy(expected)
    ours[0]["calls"]["averageBuy"] = [2, 1]
    assert compare_rows(ours, expected) == [
        "row 1 (id managed-limit-1704075900000): calls.averageBuy[0] ours=2 expected=1"
    ]


def test_a_plain_row_compares_as_before() -> None:
    expected = read_rows(EXPECTED / "market_1d.jsonl")
    assert not set(MANAGED_FIELDS) & {key for row in expected for key in row}
    assert compare_rows(copy.deepcopy(expected), expected) == []


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (100.0, "100"),
        (-0.5, "-0.5"),
        (0.001, "0.001"),
        (6.310621047830867e-05, "0.00006310621047830867"),
        (1e-06, "0.000001"),
        (1.5e-07, "1.5e-7"),
        (1e16, "10000000000000000"),
        (1.2345678901234568e20, "123456789012345680000"),
        (1.2345e21, "1.2345e+21"),
        (5e-324, "5e-324"),
    ],
)
def test_numbers_print_as_javascript_prints_them(value: float, printed: str) -> None:
    assert format_row({"x": value, "list": [{"y": value}]}) == f'{{"x":{printed},"list":[{{"y":{printed}}}]}}'
